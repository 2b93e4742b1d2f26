import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../../domain/index.ts';

/** Load balancers' probes: answered however busy the gateway is (they decide where traffic goes). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

export interface LoadShedOptions {
  /** Requests being worked on at once (HTTP_MAX_IN_FLIGHT); 0 turns shedding off. */
  maxInFlight: number;
  /** Whole seconds a shed request should wait before it is repeated (Retry-After). */
  retryAfterSeconds?: number;
}

/**
 * Sheds load before doing any work (issue 18 item 10c): past `maxInFlight` requests in progress, a
 * new one is answered 503 SERVICE_UNAVAILABLE with Retry-After at once, which a client can act on,
 * instead of joining a queue (database, business) that only grows its latency. Kinder than refusing
 * sockets: the connection stays usable. /health and /ready are always answered. A request counts
 * until its handler has built the answer (a streamed body, such as an MCP event stream, no longer).
 */
export function loadShed({ maxInFlight, retryAfterSeconds = 1 }: LoadShedOptions): MiddlewareHandler {
  let inFlight = 0;
  const headers = { 'Retry-After': String(retryAfterSeconds) };
  return async function loadShedMiddleware(c, next) {
    if (maxInFlight > 0 && inFlight >= maxInFlight && !PROBE_PATHS.has(c.req.path)) {
      throw new GatewayError(
        'SERVICE_UNAVAILABLE',
        'The gateway is at capacity: too many requests are in progress. Retry shortly.',
        { maxInFlight },
        { headers },
      );
    }
    inFlight += 1;
    try {
      await next();
    } finally {
      inFlight -= 1;
    }
  };
}
