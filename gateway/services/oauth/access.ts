import { type AgentPrincipal, GatewayError, type Scope } from '../../domain/index.ts';
import { findAccess } from '../../repositories/oauth.ts';
import { hashSecret, SECRET_PREFIXES } from '../../secrets.ts';
import type { Deps } from '../context.ts';
import { type ProtectedResource, resourceId } from './metadata.ts';

export const isOAuthAccessToken = (token: string): boolean => token.startsWith(SECRET_PREFIXES.oauthAccess);

/** RFC 6750 §3.1 invalid_token: the request is refused with 401 and the reason in WWW-Authenticate. */
export class InvalidTokenError extends GatewayError {
  constructor(readonly reason: string) {
    super('UNAUTHORIZED', `The access token is not valid: ${reason}`);
  }
}

/**
 * The agent an OAuth access token acts as (issue 22), read on every request as an agent key is:
 * the token unexpired and not revoked, its grant alive, bound to this resource (RFC 8707 audience),
 * and the agent key it was granted alive. The agent is that key's, with the key's policy; the
 * scopes are what the member granted within what the key has now.
 */
export async function authenticateOAuthAccess(
  deps: Deps,
  token: string,
  resource: ProtectedResource,
): Promise<{ agent: AgentPrincipal; configVersion: number }> {
  const reader = deps.db.reader;
  const [found, configVersion] = await Promise.all([
    findAccess(reader, hashSecret(token)),
    deps.cache.current(reader),
  ]);
  if (found?.kind !== 'access') throw new InvalidTokenError('unknown token.');
  if (found.usedAt !== null || found.grantRevokedAt !== null)
    throw new InvalidTokenError('the token was revoked.');
  if (found.expiresAt <= deps.clock()) throw new InvalidTokenError('the token expired.');
  if (found.resource !== resourceId(deps.config, resource)) {
    throw new InvalidTokenError(`the token was issued for ${found.resource}, not this resource.`);
  }
  if (found.agentKeyRevokedAt !== null) throw new InvalidTokenError('the agent key it acts as was revoked.');
  if (await deps.cache.workspaceArchived(reader, configVersion, found.workspaceId)) {
    throw new GatewayError(
      'WORKSPACE_ARCHIVED',
      'This workspace is archived: its keys and tokens are refused.',
    );
  }
  const scopes = found.scopes.filter((s) => found.agentScopes.includes(s)) as Scope[];
  return {
    agent: {
      workspaceId: found.workspaceId,
      agentKeyId: found.agentKeyId,
      agentId: found.agentId,
      scopes,
      policyName: found.policyName,
      oauthClientId: found.clientId,
    },
    configVersion,
  };
}
