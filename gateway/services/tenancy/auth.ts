import {
  type AgentPrincipal,
  type BusinessPrincipal,
  GatewayError,
  type MemberPrincipal,
} from '../../domain/index.ts';
import { findBusinessByKeyHash } from '../../repositories/businesses.ts';
import { countRequest } from '../../repositories/rate.ts';
import { findMemberByTokenHash } from '../../repositories/tenancy.ts';
import { hashSecret, SECRET_PREFIXES } from '../../secrets.ts';
import type { Deps } from '../context.ts';

const unauthorized = () => new GatewayError('UNAUTHORIZED', 'A valid API key is required.');

/** Issue 11: an archived workspace's keys and tokens are refused; its data is kept until deleted. */
const archived = () =>
  new GatewayError('WORKSPACE_ARCHIVED', 'This workspace is archived: its keys and tokens are refused.');

/**
 * The agent a key belongs to (DESIGN §3: the key decides the workspace). The config version is read
 * on every request, so a revocation takes effect at once; the key itself comes from memory while
 * the version is unchanged (ConfigCache). The version is returned for the rest of the request.
 */
export async function authenticateAgent(
  deps: Deps,
  key: string,
): Promise<{ agent: AgentPrincipal; configVersion: number }> {
  const reader = deps.db.reader;
  const configVersion = await deps.cache.current(reader);
  const found = await deps.cache.agentKey(reader, configVersion, hashSecret(key));
  if (!found || found.revokedAt !== null) throw unauthorized();
  if (await deps.cache.workspaceArchived(reader, configVersion, found.workspaceId)) throw archived();
  const agent = {
    workspaceId: found.workspaceId,
    agentKeyId: found.id,
    agentId: found.agentId,
    scopes: found.scopes,
    policyName: found.policyName,
  };
  return { agent, configVersion };
}

/**
 * The member a token belongs to, read on every request: a removed member or a rotated token is
 * refused from the next request on. The archived flag comes from the config cache (one version
 * read, shared by the requests of one event-loop turn).
 */
export async function authenticateMember(deps: Deps, token: string): Promise<MemberPrincipal> {
  const reader = deps.db.reader;
  const [found, configVersion] = await Promise.all([
    findMemberByTokenHash(reader, hashSecret(token)),
    deps.cache.current(reader),
  ]);
  if (!found) throw unauthorized();
  if (await deps.cache.workspaceArchived(reader, configVersion, found.workspaceId)) throw archived();
  return { workspaceId: found.workspaceId, memberId: found.id, email: found.email, role: found.role };
}

/**
 * The business a business key belongs to (issue 12), read on every request: a rotated or revoked
 * key is refused from the next request on. An archived business's key is refused too.
 */
export async function authenticateBusiness(deps: Deps, key: string): Promise<BusinessPrincipal> {
  // Only keys of the business kind are looked up: an agent key or member token is not one.
  if (!key.startsWith(SECRET_PREFIXES.businessKey)) throw unauthorized();
  const found = await findBusinessByKeyHash(deps.db.reader, hashSecret(key));
  if (!found || found.status === 'archived') throw unauthorized();
  return { businessId: found.id };
}

const MINUTE_MS = 60_000;

/**
 * Counts one request of an agent key in the current minute (RATE_LIMIT_PER_MINUTE) and refuses it
 * past the limit: 429 with Retry-After (DESIGN §3). The counter is one row upserted in the
 * database, so every replica counts against the same number.
 */
export async function countAgentRequest(
  deps: Pick<Deps, 'db' | 'clock'>,
  agentKeyId: string,
  limit: number,
): Promise<void> {
  if (limit <= 0) return;
  const now = deps.clock();
  const windowStart = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const key = `${agentKeyId}`;
  const count = await deps.db.transaction({ key: `rate:${key}` }, (tx) => countRequest(tx, key, windowStart));
  if (count > limit) {
    // RFC 9110 §10.2.3: delay-seconds until the next window opens.
    const retryAfter = Math.max(1, Math.ceil((windowStart + MINUTE_MS - now) / 1000));
    throw new GatewayError(
      'RATE_LIMITED',
      `Too many requests: this key may make ${limit} per minute. Retry in ${retryAfter} seconds.`,
      { limit, retryAfterSeconds: retryAfter },
      { headers: { 'Retry-After': String(retryAfter) } },
    );
  }
}
