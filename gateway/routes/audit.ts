import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import { listAuditEvents, verifyAuditChain } from '../services/audit.ts';
import type { Deps } from '../services/context.ts';
import { asMember } from './context.ts';
import { parseQuery } from './validate.ts';

const auditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(64).optional(),
    /** The parameter's earlier name. */
    before: z.string().max(64).optional(),
    /** An action (`key.created`), or a family of them (`approval.*`). */
    action: z.string().min(1).max(100).optional(),
    /** The acting member's, agent key's or operator's id. */
    actor: z.string().min(1).max(100).optional(),
    target: z.string().min(1).max(200).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

/** The workspace's audit events and the verification of their chain (admins; DESIGN §9). */
export function registerAuditRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  app.get('/v1/audit', memberAuth({ deps, roles: ['admin'] }), async (c) => {
    const { before, cursor, ...query } = parseQuery(c, auditQuery);
    return c.json(
      await listAuditEvents({ ctx: asMember(deps, c), query: { ...query, cursor: cursor ?? before } }),
    );
  });
  app.get('/v1/audit/verify', memberAuth({ deps, roles: ['admin'] }), async (c) =>
    c.json(await verifyAuditChain({ ctx: asMember(deps, c) })),
  );
}
