import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import { changeMemberRole, listMembers, removeMember, rotateMemberToken } from '../services/members.ts';
import { asMember } from './context.ts';
import { parseBody } from './validate.ts';

export const changeRoleBody = z.object({ role: z.enum(['admin', 'developer', 'approver']) }).strict();

/**
 * Members after they joined (issue 11): list, role, removal, token rotation. `POST /v1/members`
 * stays in workspace.ts, answering `{member, token}` as it always has.
 */
export function registerMemberRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const anyMember = memberAuth({ deps });
  const admins = memberAuth({ deps, roles: ['admin'] });

  app.get('/v1/members', anyMember, async (c) =>
    c.json({ members: await listMembers({ ctx: asMember(deps, c) }) }),
  );

  app.patch('/v1/members/:id', admins, async (c) => {
    const body = await parseBody(c, changeRoleBody);
    const member = await changeMemberRole({
      ctx: asMember(deps, c),
      input: { id: c.req.param('id'), ...body },
    });
    return c.json({ member });
  });

  app.delete('/v1/members/:id', admins, async (c) => {
    await removeMember({ ctx: asMember(deps, c), input: { id: c.req.param('id') } });
    return c.body(null, 204);
  });

  // An admin for anyone in the workspace, any member for themself (checked by the service).
  app.post('/v1/members/:id/rotate-token', anyMember, async (c) =>
    c.json(await rotateMemberToken({ ctx: asMember(deps, c), input: { id: c.req.param('id') } })),
  );
}
