import * as oidc from 'openid-client';
import type { Role } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { countMembersWithRole, findMemberByEmail, setMemberRole } from '../../repositories/members.ts';
import {
  getSsoConfig,
  insertSsoSignIn,
  listSsoDomains,
  type SsoConfigRow,
  ssoDomainOwner,
  useSsoSignIn,
} from '../../repositories/sso.ts';
import { getMember, insertMember } from '../../repositories/tenancy.ts';
import { getWorkspace } from '../../repositories/workspaces.ts';
import { hashSecret, newSecret, safeEqual } from '../../secrets.ts';
import { openSessionStep } from '../console/index.ts';
import type { Deps, ServiceContext } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';
import { callbackUrl } from './settings.ts';

/**
 * Console sign-in with the workspace's OpenID provider (issue 22): authorization code with PKCE
 * (S256), `state` and `nonce` (OpenID Connect Core §3.1), through openid-client, which checks the
 * answer: the state, the `iss` of the authorization response (RFC 9207) when the IdP sends it, the
 * ID token's signature against the IdP's JWKS, its issuer, audience, nonce and times.
 *
 * A refusal at any step writes nothing but the use of the sign-in's state (one try per state):
 * no member, no session, no audit event.
 */

/** A sign-in under way lives ten minutes: time to type a password and answer a second factor. */
export const SSO_SIGN_IN_TTL_MS = 10 * 60_000;

export type SsoFailure =
  /** No workspace's single sign-on answers for the address's domain. */
  | 'no_provider'
  /** The IdP could not be reached, or answered something that is not OAuth. */
  | 'idp_unreachable'
  /** The state is unknown, used already, expired, or started in another browser. */
  | 'bad_state'
  /** The IdP answered with an error (the person cancelled, or the IdP refused them). */
  | 'idp_error'
  /** The token endpoint refused the code (used already, another client's, wrong verifier). */
  | 'idp_refused'
  /** The ID token (or the authorization response) failed a check. */
  | 'unverifiable'
  /** The ID token names no email, or one the IdP says is not verified. */
  | 'no_email'
  | 'domain_not_allowed'
  | 'not_member'
  | 'no_role';

export class SsoSignInError extends Error {
  override readonly name = 'SsoSignInError';
  constructor(
    readonly reason: SsoFailure,
    message: string,
  ) {
    super(message);
  }
}

const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

async function providerOf(deps: Deps, workspaceId: string): Promise<SsoConfigRow | undefined> {
  const [config, workspace] = await Promise.all([
    getSsoConfig(deps.db.reader, workspaceId),
    getWorkspace(deps.db.reader, workspaceId),
  ]);
  return config && workspace && !workspace.archivedAt ? config : undefined;
}

async function clientFor(deps: Deps, config: SsoConfigRow): Promise<oidc.Configuration> {
  try {
    return await deps.sso.client({
      issuer: config.issuer,
      clientId: config.clientId,
      clientSecret: deps.sealer.open(config.clientSecret),
    });
  } catch (error) {
    deps.logger.warn({ err: error, issuer: config.issuer }, 'single sign-on: the IdP could not be reached');
    throw new SsoSignInError(
      'idp_unreachable',
      'Your identity provider could not be reached. Try again in a moment, or ask your admin.',
    );
  }
}

/**
 * Starts a sign-in for a work email: finds the workspace whose single sign-on answers for its domain,
 * records the state (bound to this browser's pre-session cookie), the nonce and the PKCE verifier,
 * and answers the IdP's authorization URL to send the browser to.
 */
export async function startSsoSignIn({
  deps,
  input,
}: {
  deps: Deps;
  input: { email: string; browser: string; next: string };
}): Promise<{ url: string }> {
  const email = input.email.trim().toLowerCase();
  const domain = domainOf(email);
  const owner = email.includes('@') ? await ssoDomainOwner(deps.db.reader, domain) : undefined;
  const config = owner ? await providerOf(deps, owner) : undefined;
  if (!owner || !config) {
    throw new SsoSignInError(
      'no_provider',
      `No workspace signs in with single sign-on for ${domain || 'this address'}. Use a sign-in link or your member token.`,
    );
  }
  const client = await clientFor(deps, config);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const verifier = oidc.randomPKCECodeVerifier();
  const now = deps.clock();
  await deps.db.transaction({}, (tx) =>
    insertSsoSignIn(tx, {
      stateHash: hashSecret(state),
      workspaceId: owner,
      browserHash: hashSecret(input.browser),
      nonce,
      codeVerifier: deps.sealer.seal(verifier),
      next: input.next,
      createdAt: now,
      expiresAt: now + SSO_SIGN_IN_TTL_MS,
    }),
  );
  const url = oidc.buildAuthorizationUrl(client, {
    redirect_uri: callbackUrl(deps.config.publicBaseUrl),
    scope: config.scopes.join(' '),
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    login_hint: email,
  });
  return { url: url.href };
}

/** What openid-client's refusal means to the person signing in. */
function explain(deps: Deps, error: unknown): SsoSignInError {
  if (error instanceof SsoSignInError) return error;
  deps.logger.warn({ err: error }, 'single sign-on refused');
  if (error instanceof oidc.AuthorizationResponseError) {
    return new SsoSignInError(
      'idp_error',
      `Your identity provider did not sign you in (${error.error}${error.error_description ? `: ${error.error_description}` : ''}).`,
    );
  }
  if (error instanceof oidc.ResponseBodyError) {
    return new SsoSignInError(
      'idp_refused',
      `Your identity provider refused the sign-in (${error.error}): the answer was used already or is not for this console. Start again.`,
    );
  }
  if (
    error instanceof oidc.ClientError &&
    error.code !== 'OAUTH_RESPONSE_IS_NOT_CONFORM' &&
    error.code !== 'OAUTH_RESPONSE_IS_NOT_JSON'
  ) {
    return new SsoSignInError(
      'unverifiable',
      `The answer of your identity provider did not pass the checks (${error.message}). Nothing was done.`,
    );
  }
  return new SsoSignInError(
    'idp_unreachable',
    'Your identity provider could not be reached. Try again in a moment, or ask your admin.',
  );
}

/** The role the claim's groups give: the first mapping whose group the person is in, else the default. */
export function roleFor(
  config: Pick<SsoConfigRow, 'roleMappings' | 'defaultRole'>,
  claim: unknown,
): Role | null {
  const groups =
    typeof claim === 'string'
      ? [claim]
      : Array.isArray(claim)
        ? claim.filter((g): g is string => typeof g === 'string')
        : [];
  return config.roleMappings.find((m) => groups.includes(m.group))?.role ?? config.defaultRole;
}

/**
 * Finishes a sign-in on the IdP's redirect: uses its state once, exchanges the code, checks the ID
 * token, then admits the person: an existing member (their role follows the mapping, except that
 * the last admin stays admin), or a new one when the workspace allows just-in-time membership. The
 * session, a new member and their audit events are one transaction.
 */
export async function finishSsoSignIn({
  deps,
  input,
}: {
  deps: Deps;
  input: { query: string; browser: string | undefined };
}): Promise<{ token: string; next: string }> {
  const current = new URL(callbackUrl(deps.config.publicBaseUrl));
  current.search = input.query;
  const state = current.searchParams.get('state') ?? '';
  const now = deps.clock();
  const flow = state
    ? await deps.db.transaction({}, (tx) => useSsoSignIn(tx, hashSecret(state), now))
    : undefined;
  if (
    !flow ||
    now >= flow.expiresAt ||
    input.browser === undefined ||
    !safeEqual(hashSecret(input.browser), flow.browserHash)
  ) {
    throw new SsoSignInError(
      'bad_state',
      'This sign-in is unknown, was finished already, took longer than ten minutes, or was started in another browser. Nothing was done: start again from the sign-in page.',
    );
  }
  const workspaceId = flow.workspaceId;
  const config = await providerOf(deps, workspaceId);
  if (!config)
    throw new SsoSignInError('no_provider', 'Single sign-on is no longer set up for this workspace.');
  try {
    const client = await clientFor(deps, config);
    const tokens = await oidc.authorizationCodeGrant(client, current, {
      pkceCodeVerifier: deps.sealer.open(flow.codeVerifier),
      expectedNonce: flow.nonce,
      expectedState: state,
      idTokenExpected: true,
    });
    const idToken = tokens.claims();
    if (!idToken) throw new SsoSignInError('unverifiable', 'Your identity provider sent no ID token.');
    let claims: Record<string, unknown> = { ...idToken };
    // Many IdPs put only `sub` in the ID token and the rest in UserInfo (OpenID Connect Core §5.4).
    const userinfo = client.serverMetadata().userinfo_endpoint;
    if ((claims.email === undefined || claims[config.roleClaim] === undefined) && userinfo) {
      claims = { ...(await oidc.fetchUserInfo(client, tokens.access_token, idToken.sub)), ...claims };
    }
    return await admit(deps, config, {
      workspaceId,
      subject: idToken.sub,
      issuer: idToken.iss,
      claims,
      next: flow.next,
    });
  } catch (error) {
    throw explain(deps, error);
  }
}

async function admit(
  deps: Deps,
  config: SsoConfigRow,
  who: {
    workspaceId: string;
    subject: string;
    issuer: string;
    claims: Record<string, unknown>;
    next: string;
  },
): Promise<{ token: string; next: string }> {
  const { workspaceId, claims } = who;
  const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
  if (!email.includes('@') || claims.email_verified === false) {
    throw new SsoSignInError(
      'no_email',
      'Your identity provider did not give a verified email address for you, so Warden cannot tell which member you are.',
    );
  }
  const domains = await listSsoDomains(deps.db.reader, workspaceId);
  if (!domains.includes(domainOf(email))) {
    throw new SsoSignInError(
      'domain_not_allowed',
      `${email} is not an address of a domain this workspace signs in (${domains.join(', ')}).`,
    );
  }
  const role = roleFor(config, claims[config.roleClaim]);
  if (role === null) {
    throw new SsoSignInError(
      'no_role',
      `You are in no group that gives a role in this workspace (claim ${config.roleClaim}). Ask your admin.`,
    );
  }
  const audit = { issuer: who.issuer, subject: who.subject };
  const signed = await deps.db.transaction({ workspaceId }, async (tx) => {
    const id = await findMemberByEmail(tx, workspaceId, email);
    const member = id ? await getMember(tx, workspaceId, id) : undefined;
    let memberId: string;
    if (member) {
      memberId = member.id;
      const ctx = asMember(deps, workspaceId, memberId);
      const lastAdmin =
        member.role === 'admin' && (await countMembersWithRole(tx, workspaceId, 'admin')) <= 1;
      // The IdP's groups decide the role; a workspace never loses its last admin this way.
      if (member.role !== role && !lastAdmin) {
        await setMemberRole(tx, workspaceId, memberId, role);
        await appendAudit(
          tx,
          auditEvent(ctx, 'member.role_changed', memberId, {
            from: member.role,
            to: role,
            via: 'sso',
            ...audit,
          }),
        );
      }
    } else {
      if (!config.jit) {
        throw new SsoSignInError(
          'not_member',
          `${email} is not a member of this workspace. Ask an admin to invite you.`,
        );
      }
      memberId = newId('member');
      // The member gets no token (they sign in through the IdP); an admin can issue one (rotate-token).
      await insertMember(tx, {
        id: memberId,
        workspaceId,
        email,
        role,
        tokenHash: hashSecret(newSecret('memberToken')),
        createdAt: deps.clock(),
      });
      await appendAudit(
        tx,
        auditEvent(asMember(deps, workspaceId, memberId), 'member.created', memberId, {
          role,
          via: 'sso',
          ...audit,
        }),
      );
    }
    return openSessionStep(tx, deps, { workspaceId, memberId, via: 'sso', data: audit });
  });
  return { token: signed.token, next: who.next };
}

const asMember = (deps: Deps, workspaceId: string, memberId: string): ServiceContext => ({
  deps,
  workspaceId,
  actor: { type: 'member', id: memberId },
});
