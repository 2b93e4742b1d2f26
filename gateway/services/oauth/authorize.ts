import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewayError, OAUTH_SCOPES, OAuthError, type Scope } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { insertGrant, insertToken } from '../../repositories/oauth.ts';
import { listAgentKeys } from '../../repositories/tenancy.ts';
import { hashSecret, newSecret } from '../../secrets.ts';
import type { Deps, ServiceContext } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';
import { type OAuthClient, resolveClient } from './clients.ts';
import { issuerOf, resourceNamed } from './metadata.ts';

/** An authorization code lives this long (RFC 6749 §4.1.2: short, at most ten minutes). */
export const CODE_TTL_MS = 60_000;

/** A valid authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2). */
export interface AuthorizationRequest {
  client: OAuthClient;
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string;
  resource: string;
  scopes: Scope[];
}

/**
 * An authorization request that cannot go on. With `redirect`, the client and its redirect URI
 * were verified: the error goes back to it (RFC 6749 §4.1.2.1). Without, it must not (an open
 * redirect): the person is shown the error.
 */
export type AuthorizationProblem = { error: OAuthError; redirect?: string };

/** `redirect_uri` with the answer's parameters, `iss` always (RFC 9207 §2). */
export function redirectWith(
  deps: Deps,
  redirectUri: string,
  params: Record<string, string | undefined>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set('iss', issuerOf(deps.config));
  return url.toString();
}

const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Checks an authorization request, in the order RFC 6749 §4.1.2.1 needs: first the client and the
 * redirect URI (exactly one of the client's, character for character), then everything else, whose
 * errors go back to that URI.
 */
export async function checkAuthorizationRequest({
  deps,
  input,
}: {
  deps: Deps;
  input: Record<string, string | undefined>;
}): Promise<AuthorizationRequest | AuthorizationProblem> {
  const clientId = input.client_id;
  if (!clientId) return { error: new OAuthError('invalid_request', 'client_id is required.') };
  let client: OAuthClient;
  try {
    client = await resolveClient(deps, clientId);
  } catch (error) {
    if (error instanceof OAuthError) return { error };
    throw error;
  }
  const redirectUri = input.redirect_uri;
  if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
    return {
      error: new OAuthError(
        'invalid_request',
        'redirect_uri is missing or is not one of the redirect URIs registered for this client.',
      ),
    };
  }
  const state = input.state;
  const back = (error: OAuthError): AuthorizationProblem => ({
    error,
    redirect: redirectWith(deps, redirectUri, {
      error: error.error,
      error_description: error.description,
      state,
    }),
  });
  if (input.response_type !== 'code') {
    return back(new OAuthError('unsupported_response_type', 'response_type must be code.'));
  }
  if (
    input.code_challenge_method !== 'S256' ||
    !input.code_challenge ||
    !S256_CHALLENGE.test(input.code_challenge)
  ) {
    return back(
      new OAuthError('invalid_request', 'PKCE is required: code_challenge with code_challenge_method S256.'),
    );
  }
  if (!input.resource || !resourceNamed(deps.config, input.resource)) {
    return back(
      new OAuthError(
        'invalid_target',
        "resource is required and must name this server's /mcp or its agent API.",
      ),
    );
  }
  const asked = (input.scope ?? '').split(' ').filter(Boolean);
  if (asked.some((s) => !(OAUTH_SCOPES as readonly string[]).includes(s))) {
    return back(new OAuthError('invalid_scope', `scope may hold ${OAUTH_SCOPES.join(', ')}.`));
  }
  const scopes = (asked.length > 0 ? [...new Set(asked)] : [...OAUTH_SCOPES]) as Scope[];
  return {
    client,
    redirectUri,
    state,
    codeChallenge: input.code_challenge,
    resource: input.resource,
    scopes,
  };
}

export const isProblem = (r: AuthorizationRequest | AuthorizationProblem): r is AuthorizationProblem =>
  'error' in r;

/** RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge, compared in constant time. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!PKCE_VALUE.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/**
 * The member consents: a grant for the client to act as one of the workspace's live agent keys
 * with the scopes chosen (within what the client asked and what the key has), and a one-time code
 * bound to it. Answers where to send the browser (the client's redirect URI with code, state, iss).
 */
export async function approveAuthorization({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { request: AuthorizationRequest; agentKeyId: string; scopes: Scope[] };
}): Promise<{ redirect: string; grantId: string }> {
  const { deps } = ctx;
  const workspaceId = ctx.workspaceId;
  if (!workspaceId || ctx.actor.type !== 'member' || !ctx.actor.id) {
    throw new GatewayError('FORBIDDEN', 'Only a signed-in member can authorise a client.');
  }
  const memberId = ctx.actor.id;
  const { request } = input;
  const keys = await listAgentKeys(deps.db.reader, workspaceId);
  const key = keys.find((k) => k.id === input.agentKeyId && k.revokedAt === null);
  if (!key) throw new GatewayError('VALIDATION_ERROR', 'Choose a live agent key of this workspace.');
  const scopes = input.scopes.filter((s) => request.scopes.includes(s) && key.scopes.includes(s));
  if (scopes.length === 0) {
    throw new GatewayError(
      'VALIDATION_ERROR',
      'Choose at least one scope that the client asked for and the key has.',
    );
  }
  const now = deps.clock();
  const code = newSecret('oauthCode');
  const grantId = newId('oauthGrant');
  await deps.db.transaction({ workspaceId }, async (tx) => {
    await insertGrant(tx, {
      id: grantId,
      workspaceId,
      memberId,
      agentKeyId: key.id,
      clientId: request.client.clientId,
      clientName: request.client.clientName,
      redirectUri: request.redirectUri,
      scopes,
      resource: request.resource,
      codeChallenge: request.codeChallenge,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    });
    await insertToken(tx, {
      tokenHash: hashSecret(code),
      grantId,
      workspaceId,
      kind: 'code',
      createdAt: now,
      expiresAt: now + CODE_TTL_MS,
    });
    await appendAudit(
      tx,
      auditEvent(
        ctx,
        'oauth.client_authorized',
        grantId,
        {
          clientId: request.client.clientId,
          agentKeyId: key.id,
          agentId: key.agentId,
          scopes,
          resource: request.resource,
        },
        now,
      ),
    );
  });
  return { redirect: redirectWith(deps, request.redirectUri, { code, state: request.state }), grantId };
}

/** The member refuses: access_denied goes back to the client (RFC 6749 §4.1.2.1). */
export function denyAuthorization({
  deps,
  input,
}: {
  deps: Deps;
  input: { request: AuthorizationRequest };
}): string {
  return redirectWith(deps, input.request.redirectUri, {
    error: 'access_denied',
    error_description: 'The person declined to authorise this client.',
    state: input.request.state,
  });
}
