import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { type Metrics, UNMATCHED } from '../../metrics/index.ts';

export interface MetricsOptions {
  metrics: Pick<Metrics, 'http'>;
}

/**
 * The pattern of the route that answered (`/agp/status/:transactionId`), never the raw path: the last
 * matched handler. Middleware takes `(c, next)` and a handler only `(c)` (Hono's own route inspection
 * tells them apart the same way), so a request only `app.use` middleware matched is `unmatched`.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route && route.handler.length < 2) return route.path;
  }
  return UNMATCHED;
}

/** Counts and times every request by method, route pattern and status (GET /metrics). */
export function metrics({ metrics }: MetricsOptions): MiddlewareHandler {
  return async function metricsMiddleware(c, next) {
    const started = performance.now();
    await next();
    metrics.http(c.req.method, routeLabel(c), c.res.status, (performance.now() - started) / 1000);
  };
}
