import type { Hono } from 'hono';
import { z } from 'zod';
import { TRANSACTION_STATUSES } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import { getTransaction, listTransactions, resolveTransaction, summarize } from '../services/transactions.ts';
import { asMember } from './context.ts';
import { parseBody, parseQuery } from './validate.ts';

export const listQuery = z
  .object({
    status: z.enum(TRANSACTION_STATUSES).optional(),
    /** `evaluate` lists evaluations (DESIGN §5). */
    operation: z.enum(['discover', 'query', 'execute', 'evaluate']).optional(),
    businessId: z.string().max(128).optional(),
    agentId: z.string().max(128).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    cursor: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export const summaryQuery = z
  .object({
    interval: z.enum(['day', 'week', 'month']).default('day'),
    policy: z.string().max(64).optional(),
  })
  .strict();

export const resolveBody = z
  .object({ status: z.enum(['succeeded', 'failed']), reason: z.string().trim().min(1).max(1000) })
  .strict();

/** The ledger as members see it (DESIGN §5): list, one with its decision, summary. */
export function registerTransactionRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const members = memberAuth({ deps });

  app.get('/v1/transactions', members, async (c) => {
    const q = parseQuery(c, listQuery);
    const filter = {
      ...q,
      from: q.from ? Date.parse(q.from) : undefined,
      to: q.to ? Date.parse(q.to) : undefined,
    };
    return c.json(await listTransactions({ ctx: asMember(deps, c), filter }));
  });

  app.get('/v1/transactions/summary', members, async (c) => {
    const q = parseQuery(c, summaryQuery);
    return c.json(
      await summarize({
        ctx: asMember(deps, c),
        interval: q.interval,
        policyName: q.policy,
      }),
    );
  });

  app.post('/v1/transactions/:id/resolve', memberAuth({ deps, roles: ['admin'] }), async (c) => {
    const input = await parseBody(c, resolveBody);
    return c.json(await resolveTransaction({ ctx: asMember(deps, c), id: c.req.param('id'), input }));
  });

  app.get('/v1/transactions/:id', members, async (c) =>
    c.json(await getTransaction({ ctx: asMember(deps, c), id: c.req.param('id') })),
  );
}
