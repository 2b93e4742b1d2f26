import type { Hono } from 'hono';
import type { GatewayEnv } from '../env.ts';
import type { Deps } from '../services/context.ts';
import { checkReadiness, type ReadinessState } from '../services/readiness.ts';

export type HealthState = ReadinessState;

export function registerHealthRoutes(app: Hono<GatewayEnv>, deps: Deps, state: HealthState): void {
  // Liveness only: answers while the process can, whatever the database does.
  app.get('/health', (c) => c.json({ status: 'ok' }));

  // Ready when the database answers, its migrations are applied and the workers run (DESIGN §5).
  app.get('/ready', async (c) => {
    const database = deps.db.dialect;
    const readiness = await checkReadiness(deps.db, state);
    if (readiness.ready) return c.json({ status: 'ready', database });
    switch (readiness.reason) {
      case 'shutting_down':
        return c.json({ status: 'shutting_down' }, 503);
      case 'database_unreachable':
        deps.logger.warn({ err: readiness.error }, 'readiness check failed');
        return c.json({ status: 'unavailable', database }, 503);
      case 'not_ready':
        return c.json(
          {
            status: 'unavailable',
            database,
            migrationsPending: readiness.migrationsPending,
            workersNotRunning: readiness.workersNotRunning,
          },
          503,
        );
    }
  });
}
