import type { OpenAPIHono } from '@hono/zod-openapi';
import type { GatewayEnv } from '../../env.ts';
import type { Deps } from '../../services/context.ts';
import { registerPolicyReadRoutes } from './get.ts';
import { registerPolicyWriteRoutes } from './put.ts';
import { registerPolicySimulateRoute } from './simulate.ts';
import { registerPolicySourceRoutes } from './sources.ts';

/**
 * Policies API (DESIGN §5, §6): admins write, every member reads and simulates. One file per
 * concern; the shapes and the parsing they share are in schema.ts.
 */
export function registerPolicyRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  registerPolicyWriteRoutes(app, deps);
  registerPolicyReadRoutes(app, deps);
  registerPolicySimulateRoute(app, deps);
  registerPolicySourceRoutes(app, deps);
}
