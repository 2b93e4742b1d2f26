import type { OpenAPIHono } from '@hono/zod-openapi';
import { GatewayError } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import type { Metrics } from '../metrics/index.ts';
import { presentedKey } from '../middleware/auth/index.ts';
import { safeEqual } from '../secrets.ts';
import { route } from './openapi/route.ts';

export interface MetricsRouteOptions {
  metrics: Pick<Metrics, 'scrape' | 'contentType'>;
  /** METRICS_TOKEN: when set, a scrape must present it as a bearer token. */
  token: string | undefined;
}

/** GET /metrics (DESIGN §5 "Ops"): the Prometheus text format. */
export function registerMetricsRoutes(
  app: OpenAPIHono<GatewayEnv>,
  { metrics, token }: MetricsRouteOptions,
): void {
  route(
    app,
    {
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      tag: 'Operations',
      summary: 'Prometheus metrics (METRICS_TOKEN as a bearer token when set)',
      access: { principal: 'metrics' },
      responses: { 200: { description: 'The Prometheus text format', text: true } },
    },
    async (c) => {
      if (token !== undefined) {
        const given = presentedKey(c);
        // Compared as digests in constant time: the answer's timing says nothing of the token.
        if (given === undefined || !safeEqual(given, token)) {
          throw new GatewayError('UNAUTHORIZED', 'A valid metrics token is required.', undefined, {
            headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
          });
        }
      }
      return c.body(await metrics.scrape(), 200, { 'Content-Type': metrics.contentType });
    },
  );
}
