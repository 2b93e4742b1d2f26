import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import type { Deps } from '../services/context.ts';
import { checkReadiness, type ReadinessState } from '../services/platform/index.ts';
import { route } from './openapi/route.ts';

export type HealthState = ReadinessState;

const notReady = z.object({
  status: z.enum(['unavailable', 'shutting_down']),
  database: z.enum(['sqlite', 'postgres']).optional(),
  migrationsPending: z.array(z.string()).optional(),
  workersNotRunning: z.array(z.string()).optional(),
});

export function registerHealthRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps, state: HealthState): void {
  // Liveness only: answers while the process can, whatever the database does.
  route(
    app,
    {
      method: 'get',
      path: '/health',
      operationId: 'getHealth',
      tag: 'Operations',
      summary: 'Liveness: the process answers',
      access: { principal: 'public' },
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
    },
    (c) => c.json({ status: 'ok' }),
  );

  // Ready when the database answers, its migrations are applied and the workers run (DESIGN §5).
  route(
    app,
    {
      method: 'get',
      path: '/ready',
      operationId: 'getReadiness',
      tag: 'Operations',
      summary: 'Readiness: database reachable, migrations applied, workers running',
      access: { principal: 'public' },
      responses: {
        200: {
          description: 'Ready for traffic',
          schema: z.object({ status: z.literal('ready'), database: z.enum(['sqlite', 'postgres']) }),
        },
        503: { description: 'Not ready, and why', schema: notReady },
      },
    },
    async (c) => {
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
    },
  );
}
