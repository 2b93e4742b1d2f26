import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { operatorAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import {
  archiveWorkspace,
  deleteWorkspace,
  listWorkspaces,
  restoreWorkspace,
} from '../../services/workspaces.ts';
import { asOperator } from '../context.ts';
import { parseBody } from '../validate.ts';

export const deleteWorkspaceBody = z.object({ confirm: z.string().min(1).max(200) }).strict();

/** The operator's lifecycle of a workspace (issue 11): list, archive, restore, delete. */
export function registerAdminWorkspaceRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const auth = operatorAuth({ adminToken: deps.config.adminToken });

  app.get('/v1/admin/workspaces', auth, async (c) =>
    c.json({ workspaces: await listWorkspaces({ ctx: asOperator(deps, c) }) }),
  );

  app.post('/v1/admin/workspaces/:id/archive', auth, async (c) =>
    c.json({
      workspace: await archiveWorkspace({ ctx: asOperator(deps, c), input: { id: c.req.param('id') } }),
    }),
  );

  app.post('/v1/admin/workspaces/:id/restore', auth, async (c) =>
    c.json({
      workspace: await restoreWorkspace({ ctx: asOperator(deps, c), input: { id: c.req.param('id') } }),
    }),
  );

  // Only an archived workspace, and only with its exact name as `confirm`.
  app.delete('/v1/admin/workspaces/:id', auth, async (c) => {
    const body = await parseBody(c, deleteWorkspaceBody);
    await deleteWorkspace({
      ctx: asOperator(deps, c),
      input: { id: c.req.param('id'), confirm: body.confirm },
    });
    return c.body(null, 204);
  });
}
