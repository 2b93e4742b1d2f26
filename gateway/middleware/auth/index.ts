import type { Context, MiddlewareHandler } from 'hono';
import type { AgentPrincipal, BusinessPrincipal, MemberPrincipal, Role, Scope } from '../../domain/index.ts';
import { GatewayError } from '../../domain/index.ts';
import { safeEqual } from '../../secrets.ts';
import type { Deps } from '../../services/context.ts';
import { authenticateAgent, authenticateBusiness, authenticateMember } from '../../services/tenancy/index.ts';
import { endSpan, startChildSpan, type Traced } from '../../tracing/index.ts';
import type { LogFields } from '../wide-log/index.ts';

export type { AgentPrincipal, BusinessPrincipal, MemberPrincipal };

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
  deps: Deps;
  /** The scope this route needs; any valid key when left out. */
  scope?: Scope;
}

/** Resolves an agent key to its agent and workspace (read on every request: revocation is immediate). */
export function agentAuth({ deps, scope }: AgentAuthOptions): MiddlewareHandler<{
  Variables: { agent: AgentPrincipal; configVersion: number; log: LogFields; trace: Traced | undefined };
}> {
  return async function agentAuthMiddleware(c, next) {
    const key = presentedKey(c);
    if (!key) throw unauthorized();
    // Issue 24: the authentication's own span, when the request is traced.
    const started = startChildSpan(c.get('trace'), 'warden.authenticate');
    let authenticated: Awaited<ReturnType<typeof authenticateAgent>>;
    try {
      authenticated = await authenticateAgent(deps, key);
    } catch (err) {
      endSpan(started?.span, err);
      throw err;
    }
    const { agent, configVersion } = authenticated;
    if (started?.span.isRecording()) {
      started.span.setAttributes({
        'warden.workspace.id': agent.workspaceId,
        'warden.agent.id': agent.agentId,
      });
    }
    endSpan(started?.span);
    c.set('agent', agent);
    c.set('configVersion', configVersion);
    const log = c.get('log');
    log.workspace = agent.workspaceId;
    log.agent = agent.agentId;
    if (scope && !agent.scopes.includes(scope)) {
      throw new GatewayError('FORBIDDEN', `This key does not have the ${scope} scope.`);
    }
    await next();
  };
}

export interface MemberAuthOptions {
  deps: Deps;
  /** Roles allowed on this route; every role when left out. */
  roles?: readonly Role[];
}

export function memberAuth({
  deps,
  roles,
}: MemberAuthOptions): MiddlewareHandler<{ Variables: { member: MemberPrincipal; log: LogFields } }> {
  return async function memberAuthMiddleware(c, next) {
    const token = presentedKey(c);
    if (!token) throw unauthorized();
    const member = await authenticateMember(deps, token);
    c.set('member', member);
    const log = c.get('log');
    log.workspace = member.workspaceId;
    log.member = member.memberId;
    if (roles && !roles.includes(member.role)) {
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

export interface BusinessAuthOptions {
  deps: Deps;
}

/**
 * A business key (issue 12): a principal of its own that may call only the /v1/business routes,
 * always on its own business. Agent keys, member tokens and the operator token are not business
 * keys (401), and a business key is none of those elsewhere.
 */
export function businessAuth({
  deps,
}: BusinessAuthOptions): MiddlewareHandler<{ Variables: { business: BusinessPrincipal; log: LogFields } }> {
  return async function businessAuthMiddleware(c, next) {
    const key = presentedKey(c);
    if (!key) throw unauthorized();
    const business = await authenticateBusiness(deps, key);
    c.set('business', business);
    c.get('log').businessId = business.businessId;
    await next();
  };
}
