import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../../errors.ts';
import type { Store } from '../../store/types.ts';
import type { AgentPrincipal } from '../auth/index.ts';

const MINUTE_MS = 60_000;

export interface RateLimitOptions {
  /** Where requests are counted: the database, so every replica counts against one number. */
  store: Pick<Store, 'countRequest'>;
  /** Requests per agent key per minute (RATE_LIMIT_PER_MINUTE); 0 turns the limit off. */
  limit: number;
  clock?: () => number;
}

/**
 * Limits requests per agent key per calendar minute (DESIGN §3: 429 RATE_LIMITED with Retry-After).
 * Runs after auth. Each request bumps one counter row in the store and is refused when the count
 * passes the limit, so the limit holds however many replicas share the database.
 */
export function rateLimit({
  store,
  limit,
  clock = Date.now,
}: RateLimitOptions): MiddlewareHandler<{ Variables: { agent: AgentPrincipal } }> {
  return async function rateLimitMiddleware(c, next) {
    if (limit <= 0) return next();
    const now = clock();
    const windowStart = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const count = await store.countRequest(c.var.agent.agentKeyId, windowStart);
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
    await next();
  };
}
