import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { operatorAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import {
  archiveWorkspace,
  deleteWorkspace,
  listWorkspaces,
  restoreWorkspace,
} from '../../services/tenancy/index.ts';
import { asOperator } from '../context.ts';
import { isoTime } from '../openapi/common.ts';
import { route } from '../openapi/route.ts';
import { parseBody, pathParam } from '../validate.ts';

const workspaceView = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: isoTime,
  archived: z.boolean(),
  archivedAt: isoTime.nullable(),
});
const tag = 'Operator';

export const deleteWorkspaceBody = z.object({ confirm: z.string().min(1).max(200) }).strict();

/** The operator's lifecycle of a workspace (issue 11): list, archive, restore, delete. */
export function registerAdminWorkspaceRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const auth = operatorAuth({ adminToken: deps.config.adminToken });

  const one = z.object({ workspace: workspaceView });

  route(
    app,
    {
      method: 'get',
      path: '/v1/admin/workspaces',
      operationId: 'adminListWorkspaces',
      tag,
      summary: 'Every workspace, archived ones flagged',
      access: { principal: 'operator' },
      responses: {
        200: { description: 'Workspaces', schema: z.object({ workspaces: z.array(workspaceView) }) },
      },
    },
    auth,
    async (c) => c.json({ workspaces: await listWorkspaces({ ctx: asOperator(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/admin/workspaces/:id/archive',
      operationId: 'adminArchiveWorkspace',
      tag,
      summary: 'Archive: every key and member token refused with 403 WORKSPACE_ARCHIVED, data kept',
      access: { principal: 'operator' },
      responses: { 200: { description: 'The workspace', schema: one } },
      errors: ['NOT_FOUND'],
    },
    auth,
    async (c) =>
      c.json({
        workspace: await archiveWorkspace({ ctx: asOperator(deps, c), input: { id: pathParam(c, 'id') } }),
      }),
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/admin/workspaces/:id/restore',
      operationId: 'adminRestoreWorkspace',
      tag,
      summary: 'Restore an archived workspace',
      access: { principal: 'operator' },
      responses: { 200: { description: 'The workspace', schema: one } },
      errors: ['NOT_FOUND'],
    },
    auth,
    async (c) =>
      c.json({
        workspace: await restoreWorkspace({ ctx: asOperator(deps, c), input: { id: pathParam(c, 'id') } }),
      }),
  );

  // Only an archived workspace, and only with its exact name as `confirm`.
  route(
    app,
    {
      method: 'delete',
      path: '/v1/admin/workspaces/:id',
      operationId: 'adminDeleteWorkspace',
      tag,
      summary: 'Delete an archived workspace and all its rows (body: its exact name as confirm)',
      access: { principal: 'operator' },
      body: deleteWorkspaceBody,
      responses: { 204: { description: 'Deleted' } },
      errors: ['NOT_FOUND', 'WORKSPACE_NOT_ARCHIVED'],
    },
    auth,
    async (c) => {
      const body = await parseBody(c, deleteWorkspaceBody);
      await deleteWorkspace({
        ctx: asOperator(deps, c),
        input: { id: pathParam(c, 'id'), confirm: body.confirm },
      });
      return c.body(null, 204);
    },
  );
}
