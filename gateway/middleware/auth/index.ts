import type { Context, MiddlewareHandler } from 'hono';
import type { AgentPrincipal, BusinessPrincipal, MemberPrincipal, Role, Scope } from '../../domain/index.ts';
import { GatewayError } from '../../domain/index.ts';
import { safeEqual } from '../../secrets.ts';
import type { Deps } from '../../services/context.ts';
import {
  authenticateOAuthAccess,
  InvalidTokenError,
  isOAuthAccessToken,
  type ProtectedResource,
  resourceMetadataUrl,
} from '../../services/oauth/index.ts';
import { authenticateAgent, authenticateBusiness, authenticateMember } from '../../services/tenancy/index.ts';
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
  /**
   * Which protected resource the route is (issue 22): an OAuth access token must have been issued
   * for it (RFC 8707), and a 401 points at its metadata (RFC 9728 §5.1). The agent API by default.
   */
  resource?: ProtectedResource;
}

/** An RFC 6750 §3 challenge; quotes and backslashes cannot occur in what is put in it. */
const challenge = (params: Record<string, string>) =>
  `Bearer ${Object.entries(params)
    .map(([name, value]) => `${name}="${value.replace(/["\\]/g, '')}"`)
    .join(', ')}`;

/**
 * Resolves an agent key, or an OAuth access token acting as one (issue 22), to its agent and
 * workspace (read on every request: revocation is immediate). A refusal says where the resource's
 * OAuth metadata is, so an MCP client can discover how to get a token (RFC 9728 §5.1).
 */
export function agentAuth({ deps, scope, resource = 'api' }: AgentAuthOptions): MiddlewareHandler<{
  Variables: { agent: AgentPrincipal; configVersion: number; log: LogFields };
}> {
  const metadata = resourceMetadataUrl(deps.config, resource);
  const refused = (error: GatewayError, oauthError?: string) =>
    new GatewayError(error.code, error.message, error.details, {
      headers: {
        ...error.headers,
        'WWW-Authenticate': challenge({
          ...(oauthError ? { error: oauthError, error_description: error.message } : {}),
          resource_metadata: metadata,
        }),
      },
    });
  return async function agentAuthMiddleware(c, next) {
    const key = presentedKey(c);
    if (!key) throw refused(unauthorized());
    const oauth = isOAuthAccessToken(key);
    let found: Awaited<ReturnType<typeof authenticateAgent>>;
    try {
      found = oauth ? await authenticateOAuthAccess(deps, key, resource) : await authenticateAgent(deps, key);
    } catch (error) {
      if (
        error instanceof InvalidTokenError ||
        (error instanceof GatewayError && error.code === 'UNAUTHORIZED')
      ) {
        throw refused(error, 'invalid_token');
      }
      throw error;
    }
    const { agent, configVersion } = found;
    c.set('agent', agent);
    c.set('configVersion', configVersion);
    const log = c.get('log');
    log.workspace = agent.workspaceId;
    log.agent = agent.agentId;
    if (agent.oauthClientId) log.oauthClient = agent.oauthClientId;
    if (scope && !agent.scopes.includes(scope)) {
      const error = new GatewayError('FORBIDDEN', `This key does not have the ${scope} scope.`);
      if (!oauth) throw error;
      // RFC 6750 §3.1: the scope the token lacks, so the client can ask for it.
      throw new GatewayError(error.code, error.message, undefined, {
        headers: {
          'WWW-Authenticate': challenge({ error: 'insufficient_scope', scope, resource_metadata: metadata }),
        },
      });
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

const operatorApiDisabled = () =>
  new GatewayError(
    'OPERATOR_API_DISABLED',
    'The operator API is disabled: this gateway was started without WARDEN_ADMIN_TOKEN. To enable it, set WARDEN_ADMIN_TOKEN to a secret of at least 16 characters (for example `openssl rand -hex 32`) and restart the gateway; then send it as `Authorization: Bearer <token>`.',
  );

export function operatorAuth({ adminToken }: OperatorAuthOptions): MiddlewareHandler {
  return async function operatorAuthMiddleware(c, next) {
    if (!adminToken) throw operatorApiDisabled();
    const token = presentedKey(c);
    if (!token || !safeEqual(token, adminToken)) throw unauthorized();
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
