import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import { listAuditEvents } from '../services/audit.ts';
import type { Deps } from '../services/context.ts';
import { asMember } from './context.ts';
import { parseQuery } from './validate.ts';

const auditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: z.string().max(64).optional(),
  })
  .strict();

/** The workspace's audit events, newest first (admins). */
export function registerAuditRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  app.get('/v1/audit', memberAuth({ deps, roles: ['admin'] }), async (c) =>
    c.json(await listAuditEvents({ ctx: asMember(deps, c), query: parseQuery(c, auditQuery) })),
  );
}
