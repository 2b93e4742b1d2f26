import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Services } from '../services/context.ts';
import { parseQuery } from './validate.ts';

const auditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: z.string().max(64).optional(),
  })
  .strict();

/** The workspace's audit events, newest first (hash chaining and verify come with the ledger work). */
export function registerAuditRoutes(app: Hono<GatewayEnv>, ctx: Services): void {
  app.get('/v1/audit', memberAuth({ store: ctx.store, roles: ['admin'] }), async (c) => {
    const q = parseQuery(c, auditQuery);
    const events = await ctx.store.listAuditEvents(c.var.member.workspaceId, q);
    return c.json({
      events: events.map((e) => ({
        id: e.id,
        action: e.action,
        actor: { type: e.actorType, id: e.actorId },
        target: e.target,
        data: e.data,
        createdAt: new Date(e.createdAt).toISOString(),
      })),
      nextBefore: events.length === q.limit ? (events.at(-1)?.id ?? null) : null,
    });
  });
}
