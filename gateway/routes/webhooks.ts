import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Services } from '../services/context.ts';
import {
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  WEBHOOK_EVENTS,
} from '../services/webhooks.ts';
import { parseBody, parseQuery } from './validate.ts';

export const createWebhookBody = z
  .object({
    url: z.string().min(1).max(2048),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
  })
  .strict();

const deliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

/** Webhooks API (DESIGN §5): any member reads, admins create and delete. */
export function registerWebhookRoutes(app: Hono<GatewayEnv>, ctx: Services): void {
  const anyMember = memberAuth({ store: ctx.store });
  const admins = memberAuth({ store: ctx.store, roles: ['admin'] });
  const actorOf = (member: { memberId: string }) => ({ type: 'member' as const, id: member.memberId });

  app.post('/v1/webhooks', admins, async (c) => {
    const body = await parseBody(c, createWebhookBody);
    const member = c.var.member;
    const created = await createWebhook({
      ctx,
      workspaceId: member.workspaceId,
      actor: actorOf(member),
      input: body,
    });
    return c.json(created, 201);
  });

  app.get('/v1/webhooks', anyMember, async (c) =>
    c.json({ webhooks: await listWebhooks({ ctx, workspaceId: c.var.member.workspaceId }) }),
  );

  app.delete('/v1/webhooks/:id', admins, async (c) => {
    const member = c.var.member;
    await deleteWebhook({
      ctx,
      workspaceId: member.workspaceId,
      actor: actorOf(member),
      id: c.req.param('id'),
    });
    return c.body(null, 204);
  });

  app.get('/v1/webhooks/:id/deliveries', anyMember, async (c) => {
    const q = parseQuery(c, deliveriesQuery);
    const deliveries = await listDeliveries({
      ctx,
      workspaceId: c.var.member.workspaceId,
      id: c.req.param('id'),
      limit: q.limit,
    });
    return c.json({ deliveries });
  });
}
