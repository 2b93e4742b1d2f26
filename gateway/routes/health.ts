import type { Hono } from 'hono';
import type { GatewayEnv } from '../env.ts';
import type { Services } from '../services/context.ts';

export interface HealthState {
  /** False once shutdown began: the load balancer should stop sending traffic. */
  accepting: boolean;
}

export function registerHealthRoutes(app: Hono<GatewayEnv>, ctx: Services, state: HealthState): void {
  app.get('/health', (c) => c.json({ status: 'ok' }));

  // Ready when the database answers (migrations ran before the server started listening).
  app.get('/ready', async (c) => {
    if (!state.accepting) return c.json({ status: 'shutting_down' }, 503);
    try {
      await ctx.store.ping();
      return c.json({ status: 'ready', database: ctx.store.dialect });
    } catch (error) {
      ctx.logger.warn({ err: error }, 'readiness check failed');
      return c.json({ status: 'unavailable', database: ctx.store.dialect }, 503);
    }
  });
}
