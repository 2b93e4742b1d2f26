import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { type Metrics, UNMATCHED } from '../../metrics/index.ts';

export interface MetricsOptions {
  metrics: Pick<Metrics, 'http'>;
}

/**
 * The pattern of the route that answered (`/agp/status/:transactionId`), never the raw path. Hono
 * leaves `routeIndex` at the last route it ran: that one, when it is a route's own (a handler or a
 * route-level check). When an `app.use` middleware answered first, the first route registered for
 * the path is the one that would have answered (`/v1/transactions/summary` before `/:id`, which
 * matches too). A request no route matched is `unmatched`.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  const ran = routes[c.req.routeIndex];
  if (ran && ran.method !== 'ALL') return ran.path;
  const first = routes.find((route) => route.method !== 'ALL');
  return first ? first.path : UNMATCHED;
}

/** Counts and times every request by method, route pattern and status (GET /metrics). */
export function metrics({ metrics }: MetricsOptions): MiddlewareHandler {
  return async function metricsMiddleware(c, next) {
    const started = performance.now();
    await next();
    metrics.http(c.req.method, routeLabel(c), c.res.status, (performance.now() - started) / 1000);
  };
}
