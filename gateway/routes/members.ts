import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import { changeMemberRole, listMembers, removeMember, rotateMemberToken } from '../services/tenancy/index.ts';
import { asMember } from './context.ts';
import { memberView, memberWithToken } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody, pathParam } from './validate.ts';

export const changeRoleBody = z.object({ role: z.enum(['admin', 'developer', 'approver']) }).strict();

const tag = 'Members';

/**
 * Members after they joined (issue 11): list, role, removal, token rotation. `POST /v1/members`
 * stays in workspace.ts, answering `{member, token}` as it always has.
 */
export function registerMemberRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const anyMember = memberAuth({ deps });
  const admins = memberAuth({ deps, roles: ['admin'] });

  route(
    app,
    {
      method: 'get',
      path: '/v1/members',
      operationId: 'listMembers',
      tag,
      summary: "The workspace's members",
      access: { principal: 'member' },
      responses: { 200: { description: 'Members', schema: z.object({ members: z.array(memberView) }) } },
    },
    anyMember,
    async (c) => c.json({ members: await listMembers({ ctx: asMember(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'patch',
      path: '/v1/members/:id',
      operationId: 'changeMemberRole',
      tag,
      summary: "Change a member's role (the last admin cannot be demoted)",
      access: { principal: 'member', roles: ['admin'] },
      body: changeRoleBody,
      responses: { 200: { description: 'The member', schema: z.object({ member: memberView }) } },
      errors: ['NOT_FOUND', 'LAST_ADMIN'],
    },
    admins,
    async (c) => {
      const body = await parseBody(c, changeRoleBody);
      const member = await changeMemberRole({
        ctx: asMember(deps, c),
        input: { id: pathParam(c, 'id'), ...body },
      });
      return c.json({ member });
    },
  );

  route(
    app,
    {
      method: 'delete',
      path: '/v1/members/:id',
      operationId: 'removeMember',
      tag,
      summary: 'Remove a member; their token stops working at once (not the last admin)',
      access: { principal: 'member', roles: ['admin'] },
      responses: { 204: { description: 'Removed' } },
      errors: ['NOT_FOUND', 'LAST_ADMIN'],
    },
    admins,
    async (c) => {
      await removeMember({ ctx: asMember(deps, c), input: { id: pathParam(c, 'id') } });
      return c.body(null, 204);
    },
  );

  // An admin for anyone in the workspace, any member for themself (checked by the service).
  route(
    app,
    {
      method: 'post',
      path: '/v1/members/:id/rotate-token',
      operationId: 'rotateMemberToken',
      tag,
      summary: "A new token for a member (an admin's, or the member's own); the old one stops working",
      access: { principal: 'member' },
      responses: { 200: { description: 'The new token, once', schema: memberWithToken } },
      errors: ['NOT_FOUND'],
    },
    anyMember,
    async (c) =>
      c.json(await rotateMemberToken({ ctx: asMember(deps, c), input: { id: pathParam(c, 'id') } })),
  );
}
