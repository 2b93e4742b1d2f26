import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import { listAuditEvents, verifyAuditChain } from '../services/ledger/index.ts';
import { asMember } from './context.ts';
import { isoTime, json, nextCursor } from './openapi/common.ts';
import { route } from './openapi/route.ts';
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

const auditEvent = z.object({
  id: z.string(),
  action: z.string(),
  actor: z.object({ type: z.string(), id: z.string().nullable() }),
  target: z.string().nullable(),
  data: json,
  createdAt: isoTime,
  seq: z.number().int(),
  prevHash: z.string().nullable(),
  hash: z.string(),
});
const verdict = z.object({
  valid: z.boolean(),
  checked: z.number().int(),
  firstBrokenId: z.string().nullable().describe('The first event whose hash or link does not hold.'),
});
const tag = 'Audit';

/** The workspace's audit events and the verification of their chain (admins; DESIGN §9). */
export function registerAuditRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  route(
    app,
    {
      method: 'get',
      path: '/v1/audit',
      operationId: 'listAuditEvents',
      tag,
      summary: 'Audit events, newest first, filtered by action (or `family.*`), actor, target and time',
      access: { principal: 'member', roles: ['admin'] },
      query: auditQuery,
      responses: {
        200: {
          description: 'A page of events',
          schema: z.object({ events: z.array(auditEvent), nextCursor, nextBefore: nextCursor }),
        },
      },
    },
    memberAuth({ deps, roles: ['admin'] }),
    async (c) => {
      const { before, cursor, ...query } = parseQuery(c, auditQuery);
      return c.json(
        await listAuditEvents({
          ctx: asMember(deps, c),
          input: { query: { ...query, cursor: cursor ?? before } },
        }),
      );
    },
  );
  route(
    app,
    {
      method: 'get',
      path: '/v1/audit/verify',
      operationId: 'verifyAuditChain',
      tag,
      summary: "Verify the workspace's hash chain",
      access: { principal: 'member', roles: ['admin'] },
      responses: { 200: { description: 'The verdict', schema: verdict } },
    },
    memberAuth({ deps, roles: ['admin'] }),
    async (c) => c.json(await verifyAuditChain({ ctx: asMember(deps, c) })),
  );
}
