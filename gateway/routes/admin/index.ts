import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { operatorAuth } from '../../middleware/auth/index.ts';
import { listBusinesses, registerBusiness } from '../../services/businesses.ts';
import type { Deps } from '../../services/context.ts';
import { createWorkspace } from '../../services/workspaces.ts';
import { asOperator } from '../context.ts';
import { parseBody } from '../validate.ts';
import { registerAdminWorkspaceRoutes } from './workspaces.ts';

const operation = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().startsWith('/').max(512),
});

export const adapterSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('http'),
      baseUrl: z.url({ protocol: /^https?$/ }),
      operations: z
        .object({
          discover: operation.optional(),
          query: operation.optional(),
          execute: operation.optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
  z.object({ type: z.literal('echo') }).strict(),
  z.object({ type: z.literal('module'), name: z.string().min(1).max(128) }).strict(),
]);

export const createWorkspaceBody = z
  .object({ name: z.string().min(1).max(200), adminEmail: z.email() })
  .strict();

export const createBusinessBody = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lowercase letters, digits and dashes, at most 64')
      .optional(),
    name: z.string().min(1).max(200),
    category: z.string().min(1).max(64),
    description: z.string().max(2000).optional(),
    adapter: adapterSchema,
  })
  .strict();

/** The operator API (DESIGN §5), behind WARDEN_ADMIN_TOKEN. */
export function registerAdminRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const auth = operatorAuth({ adminToken: deps.config.adminToken });

  app.post('/v1/admin/workspaces', auth, async (c) => {
    const body = await parseBody(c, createWorkspaceBody);
    const { workspace, adminToken } = await createWorkspace({ ctx: asOperator(deps, c), input: body });
    return c.json({ workspace, adminToken }, 201);
  });

  app.post('/v1/admin/businesses', auth, async (c) => {
    const body = await parseBody(c, createBusinessBody);
    return c.json(await registerBusiness({ ctx: asOperator(deps, c), input: body }), 201);
  });

  app.get('/v1/admin/businesses', auth, async (c) =>
    c.json({ businesses: await listBusinesses({ ctx: asOperator(deps, c) }) }),
  );

  registerAdminWorkspaceRoutes(app, deps);
}
