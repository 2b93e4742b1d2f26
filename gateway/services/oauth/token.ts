import type { Conn } from '../../db/types.ts';
import { OAuthError } from '../../domain/index.ts';
import {
  findGrant,
  findToken,
  insertToken,
  type OAuthGrantRow,
  revokeGrant,
  touchGrant,
  useToken,
} from '../../repositories/oauth.ts';
import { listAgentKeys } from '../../repositories/tenancy.ts';
import { hashSecret, newSecret } from '../../secrets.ts';
import type { Deps } from '../context.ts';
import { verifierMatches } from './authorize.ts';

/** RFC 6749 §5.1: a successful token answer. */
export interface TokenAnswer {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);

/** A new access and refresh token under `grant`, written in `tx`. */
async function issue(tx: Conn, deps: Deps, grant: OAuthGrantRow, now: number): Promise<TokenAnswer> {
  const access = newSecret('oauthAccess');
  const refresh = newSecret('oauthRefresh');
  const { accessTokenMs, refreshTokenMs } = deps.config.oauth;
  const base = { grantId: grant.id, workspaceId: grant.workspaceId, createdAt: now };
  await insertToken(tx, {
    ...base,
    tokenHash: hashSecret(access),
    kind: 'access',
    expiresAt: now + accessTokenMs,
  });
  await insertToken(tx, {
    ...base,
    tokenHash: hashSecret(refresh),
    kind: 'refresh',
    expiresAt: now + refreshTokenMs,
  });
  await touchGrant(tx, grant.id, now);
  return {
    access_token: access,
    token_type: 'Bearer',
    expires_in: Math.floor(accessTokenMs / 1000),
    refresh_token: refresh,
    scope: grant.scopes.join(' '),
  };
}

/**
 * Ends a grant and so everything issued under it (a replayed code or refresh token, a revocation):
 * every use reads the grant. The token rows stay until the sweep, so a later presentation is told
 * it was revoked rather than that it is unknown.
 */
async function endGrant(tx: Conn, grantId: string, now: number): Promise<void> {
  await revokeGrant(tx, grantId, now);
}

/** The grant behind a presented code or refresh token, or invalid_grant. */
async function presented(deps: Deps, token: string | undefined, kind: 'code' | 'refresh') {
  if (!token)
    throw new OAuthError(
      'invalid_request',
      kind === 'code' ? 'code is required.' : 'refresh_token is required.',
    );
  const tokenHash = hashSecret(token);
  const row = await findToken(deps.db.reader, tokenHash);
  if (!row || row.kind !== kind) {
    throw invalidGrant(kind === 'code' ? 'The code is not valid.' : 'The refresh token is not valid.');
  }
  const grant = await findGrant(deps.db.reader, row.grantId);
  if (!grant) throw invalidGrant('The grant is gone.');
  return { tokenHash, row, grant };
}

/** Checks shared by both grants: the same client, the same resource if one is named, the grant alive. */
function checkClientAndResource(grant: OAuthGrantRow, form: Record<string, string | undefined>): void {
  if (form.client_id !== grant.clientId) throw invalidGrant('The grant was issued to another client.');
  if (form.resource !== undefined && form.resource !== grant.resource) {
    throw new OAuthError('invalid_target', 'resource is not the one this grant was issued for.');
  }
}

type Outcome = { ok: true; answer: TokenAnswer } | { ok: false; error: OAuthError };

/**
 * RFC 6749 §4.1.3 with RFC 7636 §4.6: a code for tokens. A code is used once: the one conditional
 * update that marks it used decides between two racing exchanges, and a code presented again
 * revokes the grant and every token issued from it (§4.1.2). Refusals that must stick (the
 * revocation) commit before the error is answered.
 */
export async function exchangeCode({
  deps,
  input,
}: {
  deps: Deps;
  input: Record<string, string | undefined>;
}): Promise<TokenAnswer> {
  const { tokenHash, row, grant } = await presented(deps, input.code, 'code');
  const now = deps.clock();
  const outcome = await deps.db.transaction(
    { workspaceId: grant.workspaceId },
    async (tx): Promise<Outcome> => {
      const used = await useToken(tx, tokenHash, now);
      if (!used) {
        await endGrant(tx, grant.id, now);
        return {
          ok: false,
          error: invalidGrant('The code was already used: the grant made with it is revoked.'),
        };
      }
      if (row.expiresAt <= now) return { ok: false, error: invalidGrant('The code expired.') };
      if (grant.revokedAt !== null) return { ok: false, error: invalidGrant('The grant was revoked.') };
      try {
        checkClientAndResource(grant, input);
      } catch (error) {
        return { ok: false, error: error as OAuthError };
      }
      if (input.redirect_uri !== grant.redirectUri) {
        return { ok: false, error: invalidGrant('redirect_uri is not the one the code was issued to.') };
      }
      if (!input.code_verifier || !verifierMatches(input.code_verifier, grant.codeChallenge)) {
        return { ok: false, error: invalidGrant('code_verifier does not match the code_challenge.') };
      }
      return { ok: true, answer: await issue(tx, deps, grant, now) };
    },
  );
  if (!outcome.ok) throw outcome.error;
  return outcome.answer;
}

/**
 * RFC 6749 §6 with OAuth 2.1 §4.3.1: a refresh token for a new access token and a new refresh
 * token; the old one is used up. Presented again (stolen, or replayed), it revokes the whole
 * family, so whoever holds the newer one must authorise again.
 */
export async function refreshTokens({
  deps,
  input,
}: {
  deps: Deps;
  input: Record<string, string | undefined>;
}): Promise<TokenAnswer> {
  const { tokenHash, row, grant } = await presented(deps, input.refresh_token, 'refresh');
  checkClientAndResource(grant, input);
  const now = deps.clock();
  if (row.expiresAt <= now) throw invalidGrant('The refresh token expired.');
  if (grant.revokedAt !== null) throw invalidGrant('The grant was revoked.');
  const keys = await listAgentKeys(deps.db.reader, grant.workspaceId);
  if (!keys.some((k) => k.id === grant.agentKeyId && k.revokedAt === null)) {
    throw invalidGrant('The agent key this client acts as was revoked.');
  }
  const outcome = await deps.db.transaction(
    { workspaceId: grant.workspaceId },
    async (tx): Promise<Outcome> => {
      const used = await useToken(tx, tokenHash, now);
      if (!used) {
        await endGrant(tx, grant.id, now);
        return {
          ok: false,
          error: invalidGrant('The refresh token was already used: the grant is revoked.'),
        };
      }
      return { ok: true, answer: await issue(tx, deps, grant, now) };
    },
  );
  if (!outcome.ok) throw outcome.error;
  return outcome.answer;
}

/**
 * RFC 7009 §2.1: a client revokes one of its tokens. A refresh token ends its whole grant, an
 * access token only itself. An unknown token is not an error (§2.2), a token of another client is.
 */
export async function revokeToken({
  deps,
  input,
}: {
  deps: Deps;
  input: Record<string, string | undefined>;
}): Promise<void> {
  if (!input.token) throw new OAuthError('invalid_request', 'token is required.');
  const tokenHash = hashSecret(input.token);
  const row = await findToken(deps.db.reader, tokenHash);
  if (!row || row.kind === 'code') return;
  const grant = await findGrant(deps.db.reader, row.grantId);
  if (!grant) return;
  if (input.client_id !== grant.clientId) {
    throw new OAuthError('unauthorized_client', 'This token was issued to another client.');
  }
  const now = deps.clock();
  await deps.db.transaction({ workspaceId: grant.workspaceId }, async (tx) => {
    if (row.kind === 'refresh') await endGrant(tx, grant.id, now);
    else await useToken(tx, tokenHash, now);
  });
}
