import type { MiddlewareHandler } from 'hono';
import type { AgentPrincipal } from '../../domain/index.ts';
import type { Deps } from '../../services/context.ts';
import { countAgentRequest } from '../../services/tenancy/index.ts';

export interface RateLimitOptions {
  deps: Pick<Deps, 'db' | 'clock'>;
  /** Requests per agent key per minute (RATE_LIMIT_PER_MINUTE); 0 turns the limit off. */
  limit: number;
}

/**
 * Limits requests per agent key per calendar minute (DESIGN §3: 429 RATE_LIMITED with Retry-After).
 * Runs after auth; the count lives in the database, so the limit holds across replicas.
 */
export function rateLimit({
  deps,
  limit,
}: RateLimitOptions): MiddlewareHandler<{ Variables: { agent: AgentPrincipal } }> {
  return async function rateLimitMiddleware(c, next) {
    if (limit > 0) await countAgentRequest(deps, c.var.agent.agentKeyId, limit);
    await next();
  };
}
