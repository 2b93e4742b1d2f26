import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import { rotateCallbackSecret } from '../services/callbacks.ts';
import type { Deps } from '../services/context.ts';
import {
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  WEBHOOK_EVENTS,
} from '../services/webhooks.ts';
import { asMember } from './context.ts';
import { parseBody, parseQuery } from './validate.ts';

export const createWebhookBody = z
  .object({
    url: z.string().min(1).max(2048),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
  })
  .strict();

const deliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

/** Webhooks API (DESIGN §5): any member reads, admins create and delete. */
export function registerWebhookRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const anyMember = memberAuth({ deps });
  const admins = memberAuth({ deps, roles: ['admin'] });

  // Evaluation callbacks (webhook_url of POST /v1/evaluate) are signed with this secret.
  app.post('/v1/webhooks/callback-secret', admins, async (c) =>
    c.json(await rotateCallbackSecret({ ctx: asMember(deps, c) }), 201),
  );

  app.post('/v1/webhooks', admins, async (c) => {
    const body = await parseBody(c, createWebhookBody);
    const created = await createWebhook({ ctx: asMember(deps, c), input: body });
    return c.json(created, 201);
  });

  app.get('/v1/webhooks', anyMember, async (c) =>
    c.json({ webhooks: await listWebhooks({ ctx: asMember(deps, c) }) }),
  );

  app.delete('/v1/webhooks/:id', admins, async (c) => {
    await deleteWebhook({ ctx: asMember(deps, c), id: c.req.param('id') });
    return c.body(null, 204);
  });

  app.get('/v1/webhooks/:id/deliveries', anyMember, async (c) => {
    const q = parseQuery(c, deliveriesQuery);
    const deliveries = await listDeliveries({
      ctx: asMember(deps, c),
      id: c.req.param('id'),
      limit: q.limit,
    });
    return c.json({ deliveries });
  });
}
