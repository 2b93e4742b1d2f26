import type { Context, MiddlewareHandler } from 'hono';
import { GatewayError } from '../../errors.ts';
import { hashSecret, safeEqual } from '../../secrets.ts';
import type { Role, Scope, Store } from '../../store/types.ts';
import type { LogFields } from '../wide-log/index.ts';

export interface AgentPrincipal {
  workspaceId: string;
  agentKeyId: string;
  agentId: string;
  scopes: Scope[];
  policyName: string | null;
}

export interface MemberPrincipal {
  workspaceId: string;
  memberId: string;
  email: string;
  role: Role;
}

/** `Authorization: Bearer <key>`, or `X-API-Key: <key>` (DESIGN §3). */
export function presentedKey(c: Context): string | undefined {
  const authorization = c.req.header('Authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  return c.req.header('X-API-Key') || undefined;
}

const unauthorized = () => new GatewayError('UNAUTHORIZED', 'A valid API key is required.');

export interface AgentAuthOptions {
  store: Store;
  /** The scope this route needs; any valid key when left out. */
  scope?: Scope;
}

/**
 * Resolves an agent key to its workspace. The key is read from the database on every request so a
 * revocation takes effect at once (an indexed read by hash).
 */
export function agentAuth({
  store,
  scope,
}: AgentAuthOptions): MiddlewareHandler<{ Variables: { agent: AgentPrincipal; log: LogFields } }> {
  return async function agentAuthMiddleware(c, next) {
    const key = presentedKey(c);
    if (!key) throw unauthorized();
    const found = await store.findAgentKeyByHash(hashSecret(key));
    if (!found || found.revokedAt !== null) throw unauthorized();
    c.set('agent', {
      workspaceId: found.workspaceId,
      agentKeyId: found.id,
      agentId: found.agentId,
      scopes: found.scopes,
      policyName: found.policyName,
    });
    const log = c.get('log');
    log.workspace = found.workspaceId;
    log.agent = found.agentId;
    if (scope && !found.scopes.includes(scope)) {
      throw new GatewayError('FORBIDDEN', `This key does not have the ${scope} scope.`);
    }
    await next();
  };
}

export interface MemberAuthOptions {
  store: Store;
  /** Roles allowed on this route; every role when left out. */
  roles?: readonly Role[];
}

export function memberAuth({
  store,
  roles,
}: MemberAuthOptions): MiddlewareHandler<{ Variables: { member: MemberPrincipal; log: LogFields } }> {
  return async function memberAuthMiddleware(c, next) {
    const token = presentedKey(c);
    if (!token) throw unauthorized();
    const found = await store.findMemberByTokenHash(hashSecret(token));
    if (!found) throw unauthorized();
    c.set('member', {
      workspaceId: found.workspaceId,
      memberId: found.id,
      email: found.email,
      role: found.role,
    });
    const log = c.get('log');
    log.workspace = found.workspaceId;
    log.member = found.id;
    if (roles && !roles.includes(found.role)) {
      throw new GatewayError('FORBIDDEN', `This action needs the ${roles.join(' or ')} role.`);
    }
    await next();
  };
}

export interface OperatorAuthOptions {
  /** WARDEN_ADMIN_TOKEN; when unset the operator API is closed. */
  adminToken: string | undefined;
}

export function operatorAuth({ adminToken }: OperatorAuthOptions): MiddlewareHandler {
  return async function operatorAuthMiddleware(c, next) {
    const token = presentedKey(c);
    if (!adminToken || !token || !safeEqual(token, adminToken)) throw unauthorized();
    await next();
  };
}
