import { createHash, randomBytes } from 'node:crypto';
import type { Gateway } from '../../gateway/app.ts';
import type { Scope } from '../../gateway/domain/index.ts';
import {
  approveAuthorization,
  checkAuthorizationRequest,
  isProblem,
  type ProtectedResource,
  resourceId,
} from '../../gateway/services/oauth/index.ts';
import { call, inWorkspace, type Tenant } from '../support/harness.ts';

/** What OAuth tests share: PKCE pairs, form posts, a client registered and a grant made through the services. */

export const REDIRECT = 'http://127.0.0.1:8976/callback';

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A form post to an OAuth endpoint (application/x-www-form-urlencoded, RFC 6749 §3.2). */
export function postForm(gw: Gateway, path: string, fields: Record<string, string>) {
  return call(gw, 'POST', path, {
    rawBody: new URLSearchParams(fields).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
}

/** A public client registered dynamically (RFC 7591). */
export async function registerClient(gw: Gateway, redirectUris = [REDIRECT]): Promise<string> {
  const res = await call(gw, 'POST', '/oauth/register', {
    body: { client_name: 'Test client', redirect_uris: redirectUris, token_endpoint_auth_method: 'none' },
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.client_id as string;
}

export async function adminMemberId(gw: Gateway, tenant: Tenant): Promise<string> {
  const res = await call(gw, 'GET', '/v1/members', { key: tenant.adminToken });
  const members = res.body.members as { id: string; role: string }[];
  const admin = members.find((m) => m.role === 'admin');
  if (!admin) throw new Error('no admin');
  return admin.id;
}

export interface Granted {
  clientId: string;
  code: string;
  verifier: string;
  resource: string;
}

/** The admin consents (through the service the consent page calls) and the client gets a code. */
export async function grantCode(
  gw: Gateway,
  tenant: Tenant,
  options: { resource?: ProtectedResource; scopes?: Scope[]; agentKeyId?: string; clientId?: string } = {},
): Promise<Granted> {
  const clientId = options.clientId ?? (await registerClient(gw));
  const { verifier, challenge } = pkce();
  const resource = resourceId(gw.deps.config, options.resource ?? 'api');
  const request = await checkAuthorizationRequest({
    deps: gw.deps,
    input: {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource,
      state: 'xyz',
    },
  });
  if (isProblem(request)) throw new Error(request.error.description);
  const { redirect } = await approveAuthorization({
    ctx: inWorkspace(gw, tenant.workspaceId, await adminMemberId(gw, tenant)),
    input: {
      request,
      agentKeyId: options.agentKeyId ?? tenant.agentKeyId,
      scopes: options.scopes ?? ['discover', 'query', 'execute'],
    },
  });
  const code = new URL(redirect).searchParams.get('code');
  if (!code) throw new Error('no code');
  return { clientId, code, verifier, resource };
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  clientId: string;
  resource: string;
}

/** A code exchanged at the token endpoint. */
export async function grantTokens(
  gw: Gateway,
  tenant: Tenant,
  options: Parameters<typeof grantCode>[2] = {},
): Promise<Tokens> {
  const g = await grantCode(gw, tenant, options);
  const res = await postForm(gw, '/oauth/token', {
    grant_type: 'authorization_code',
    code: g.code,
    redirect_uri: REDIRECT,
    client_id: g.clientId,
    code_verifier: g.verifier,
    resource: g.resource,
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    access_token: res.body.access_token as string,
    refresh_token: res.body.refresh_token as string,
    clientId: g.clientId,
    resource: g.resource,
  };
}
