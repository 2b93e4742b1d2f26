import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import {
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  rotateCallbackSecret,
  WEBHOOK_EVENTS,
} from '../services/notifications/index.ts';
import { asMember } from './context.ts';
import { isoTime } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody, parseQuery, pathParam } from './validate.ts';

export const createWebhookBody = z
  .object({
    url: z.string().min(1).max(2048),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
  })
  .strict();

const deliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

const webhookView = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  createdAt: isoTime,
});
const deliveryView = z.object({
  id: z.string(),
  eventId: z.string().nullable(),
  event: z.string().nullable(),
  status: z.string(),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  nextAttemptAt: isoTime.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
const secret = z.string().describe('Shown once: verifies the Standard Webhooks signature.');

const tag = 'Webhooks';

/** Webhooks API (DESIGN §5): any member reads, admins create and delete. */
export function registerWebhookRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const anyMember = memberAuth({ deps });
  const admins = memberAuth({ deps, roles: ['admin'] });

  // Evaluation callbacks (webhook_url of POST /v1/evaluate) are signed with this secret.
  route(
    app,
    {
      method: 'post',
      path: '/v1/webhooks/callback-secret',
      operationId: 'rotateCallbackSecret',
      tag,
      summary: 'A new secret for evaluation callbacks (webhook_url); the old one stops signing',
      access: { principal: 'member', roles: ['admin'] },
      responses: { 201: { description: 'The secret, once', schema: z.object({ secret }) } },
    },
    admins,
    async (c) => c.json(await rotateCallbackSecret({ ctx: asMember(deps, c) }), 201),
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/webhooks',
      operationId: 'createWebhook',
      tag,
      summary: 'Subscribe a URL to events',
      access: { principal: 'member', roles: ['admin'] },
      body: createWebhookBody,
      responses: {
        201: { description: 'The webhook and its secret', schema: webhookView.extend({ secret }) },
      },
    },
    admins,
    async (c) => {
      const body = await parseBody(c, createWebhookBody);
      const created = await createWebhook({ ctx: asMember(deps, c), input: body });
      return c.json(created, 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/webhooks',
      operationId: 'listWebhooks',
      tag,
      summary: "The workspace's webhooks",
      access: { principal: 'member' },
      responses: { 200: { description: 'Webhooks', schema: z.object({ webhooks: z.array(webhookView) }) } },
    },
    anyMember,
    async (c) => c.json({ webhooks: await listWebhooks({ ctx: asMember(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'delete',
      path: '/v1/webhooks/:id',
      operationId: 'deleteWebhook',
      tag,
      summary: 'Unsubscribe (pending deliveries are dropped)',
      access: { principal: 'member', roles: ['admin'] },
      responses: { 204: { description: 'Deleted' } },
      errors: ['NOT_FOUND'],
    },
    admins,
    async (c) => {
      await deleteWebhook({ ctx: asMember(deps, c), input: { id: pathParam(c, 'id') } });
      return c.body(null, 204);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/webhooks/:id/deliveries',
      operationId: 'listWebhookDeliveries',
      tag,
      summary: "A webhook's deliveries, newest first",
      access: { principal: 'member' },
      query: deliveriesQuery,
      responses: {
        200: { description: 'Deliveries', schema: z.object({ deliveries: z.array(deliveryView) }) },
      },
      errors: ['NOT_FOUND'],
    },
    anyMember,
    async (c) => {
      const q = parseQuery(c, deliveriesQuery);
      const deliveries = await listDeliveries({
        ctx: asMember(deps, c),
        input: { id: pathParam(c, 'id'), limit: q.limit },
      });
      return c.json({ deliveries });
    },
  );
}
