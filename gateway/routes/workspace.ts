import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Services } from '../services/context.ts';
import { ALL_SCOPES, createAgentKey, listAgentKeys, revokeAgentKey } from '../services/keys.ts';
import { createMember } from '../services/workspaces.ts';
import { parseBody } from './validate.ts';

export const createKeyBody = z
  .object({
    agentId: z.string().min(1).max(128),
    scopes: z
      .array(z.enum(ALL_SCOPES as ['discover', 'query', 'execute']))
      .min(1)
      .optional(),
    policy: z.string().min(1).max(128).optional(),
  })
  .strict();

export const createMemberBody = z
  .object({ email: z.email(), role: z.enum(['admin', 'developer', 'approver']) })
  .strict();

/** Member API for keys and members (DESIGN §5); the workspace always comes from the token. */
export function registerWorkspaceRoutes(app: Hono<GatewayEnv>, ctx: Services): void {
  const anyMember = memberAuth({ store: ctx.store });
  const keyManagers = memberAuth({ store: ctx.store, roles: ['admin', 'developer'] });
  const admins = memberAuth({ store: ctx.store, roles: ['admin'] });
  const actorOf = (member: { memberId: string }) => ({ type: 'member' as const, id: member.memberId });

  app.post('/v1/keys', keyManagers, async (c) => {
    const body = await parseBody(c, createKeyBody);
    const member = c.var.member;
    const key = await createAgentKey({
      ctx,
      workspaceId: member.workspaceId,
      actor: actorOf(member),
      input: body,
    });
    return c.json(key, 201);
  });

  app.get('/v1/keys', anyMember, async (c) =>
    c.json({ keys: await listAgentKeys({ ctx, workspaceId: c.var.member.workspaceId }) }),
  );

  app.delete('/v1/keys/:id', keyManagers, async (c) => {
    const member = c.var.member;
    await revokeAgentKey({
      ctx,
      workspaceId: member.workspaceId,
      actor: actorOf(member),
      id: c.req.param('id'),
    });
    return c.body(null, 204);
  });

  app.post('/v1/members', admins, async (c) => {
    const body = await parseBody(c, createMemberBody);
    const member = c.var.member;
    return c.json(
      await createMember({ ctx, workspaceId: member.workspaceId, actor: actorOf(member), input: body }),
      201,
    );
  });
}
