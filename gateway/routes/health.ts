import type { Hono } from 'hono';
import type { GatewayEnv } from '../env.ts';
import type { Deps } from '../services/context.ts';

export interface HealthState {
  /** False once shutdown began: the load balancer should stop sending traffic. */
  accepting: boolean;
}

export function registerHealthRoutes(app: Hono<GatewayEnv>, deps: Deps, state: HealthState): void {
  app.get('/health', (c) => c.json({ status: 'ok' }));

  // Ready when the database answers (migrations ran before the server started listening).
  app.get('/ready', async (c) => {
    const database = deps.db.dialect;
    if (!state.accepting) return c.json({ status: 'shutting_down' }, 503);
    try {
      await deps.db.ping();
      return c.json({ status: 'ready', database });
    } catch (error) {
      deps.logger.warn({ err: error }, 'readiness check failed');
      return c.json({ status: 'unavailable', database }, 503);
    }
  });
}
