import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { TRANSACTION_STATUSES } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import {
  getTransaction,
  listTransactions,
  resolveTransaction,
  summarize,
} from '../services/reporting/index.ts';
import { asMember } from './context.ts';
import {
  compactJws,
  isoTime,
  json,
  named,
  nextCursor,
  operation,
  transactionStatus,
} from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody, parseQuery, pathParam } from './validate.ts';

export const listQuery = z
  .object({
    status: z.enum(TRANSACTION_STATUSES).optional(),
    /** `evaluate` lists evaluations (DESIGN §5). */
    operation: z.enum(['discover', 'query', 'execute', 'evaluate']).optional(),
    businessId: z.string().max(128).optional(),
    agentId: z.string().max(128).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    /** Amount bounds in minor units, inclusive (issue 14, as the console's filters). */
    amountMin: z.coerce.number().int().min(0).optional(),
    amountMax: z.coerce.number().int().min(0).optional(),
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

export const transactionView = named(
  'Transaction',
  z.object({
    transactionId: z.string(),
    status: transactionStatus,
    operation,
    businessId: z.string().nullable(),
    businessCategory: z.string().nullable(),
    agentId: z.string(),
    amount: z.number().int().nullable(),
    currency: z.string().nullable(),
    spend: z.enum(['none', 'pending', 'posted', 'voided']),
    policy: z.string().nullable(),
    policyVersionId: z.string().nullable(),
    costMicros: z
      .number()
      .int()
      .nullable()
      .describe('The price of its evaluation when admitted (GET/PUT /v1/pricing); null when none was made.'),
    releaseAt: isoTime.optional(),
    approvalId: z.string().optional(),
    createdAt: isoTime,
    updatedAt: isoTime,
  }),
);

export const transactionDetail = named(
  'TransactionDetail',
  transactionView.extend({
    request: json,
    data: json,
    error: z
      .object({ code: z.string(), message: z.string(), upstreamStatus: z.number().optional() })
      .nullable(),
    decision: json.describe('What the execute mode and the policy decided, with every check.'),
    mcp: z
      .object({
        client: z.object({ name: z.string(), version: z.string() }).nullable(),
        sessionId: z.string().nullable(),
        tool: z.string(),
        requestId: z.union([z.string(), z.number()]).nullable(),
      })
      .nullable()
      .describe('The MCP call that made it; null when it came over REST.'),
    oauthClientId: z
      .string()
      .nullable()
      .describe('The OAuth client that acted as the agent (its client_id); null for an agent key.'),
    receipt: compactJws.nullable(),
  }),
);

const summaryRow = z.object({ key: z.string(), count: z.number().int(), amount: z.number().int() });
const summaryAnswer = named(
  'TransactionSummary',
  z.object({
    interval: z.enum(['day', 'week', 'month']),
    from: isoTime,
    to: isoTime,
    byBusiness: z.array(summaryRow),
    byCategory: z.array(summaryRow),
    byAgent: z.array(summaryRow),
    policy: z.object({ name: z.string(), version: z.number().int() }).nullable(),
    limits: z.array(
      z.object({
        id: z.string(),
        interval: z.string().optional(),
        window: z.string().optional(),
        currency: z.string().nullable().optional(),
        amount: z.number().int(),
        perTransaction: z.literal(true).optional(),
        windowStart: isoTime.optional(),
        used: z.number().int().optional(),
        reserved: z.number().int().optional(),
        remaining: z.number().int().optional(),
      }),
    ),
  }),
);

const tag = 'Transactions';

/** The ledger as members see it (DESIGN §5): list, one with its decision, summary. */
export function registerTransactionRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const members = memberAuth({ deps });

  route(
    app,
    {
      method: 'get',
      path: '/v1/transactions',
      operationId: 'listTransactions',
      tag,
      summary: 'The ledger, newest first',
      access: { principal: 'member' },
      query: listQuery,
      responses: {
        200: {
          description: 'A page of transactions',
          schema: z.object({ transactions: z.array(transactionView), nextCursor }),
        },
      },
    },
    members,
    async (c) => {
      const q = parseQuery(c, listQuery);
      const filter = {
        ...q,
        from: q.from ? Date.parse(q.from) : undefined,
        to: q.to ? Date.parse(q.to) : undefined,
      };
      return c.json(await listTransactions({ ctx: asMember(deps, c), input: { filter } }));
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/transactions/summary',
      operationId: 'getTransactionSummary',
      tag,
      summary: 'Spend by business, category and agent, and each limit of a policy',
      description:
        'The breakdowns count executes that count against limits (succeeded, or admitted and not yet ' +
        'finished) admitted from `from`, the start of the UTC hour `interval` before now, to `to` (now). ' +
        'Each limit is reported in its own current window.',
      access: { principal: 'member' },
      query: summaryQuery,
      responses: { 200: { description: 'The summary', schema: summaryAnswer } },
    },
    members,
    async (c) => {
      const q = parseQuery(c, summaryQuery);
      return c.json(
        await summarize({ ctx: asMember(deps, c), input: { interval: q.interval, policyName: q.policy } }),
      );
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/transactions/:id/resolve',
      operationId: 'resolveTransaction',
      tag,
      summary: 'Settle an execute whose outcome is unknown (audited)',
      access: { principal: 'member', roles: ['admin'] },
      body: resolveBody,
      responses: { 200: { description: 'The settled transaction', schema: transactionDetail } },
      errors: ['TRANSACTION_NOT_FOUND', 'CONFLICT'],
    },
    memberAuth({ deps, roles: ['admin'] }),
    async (c) => {
      const input = await parseBody(c, resolveBody);
      return c.json(
        await resolveTransaction({ ctx: asMember(deps, c), input: { ...input, id: pathParam(c, 'id') } }),
      );
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/transactions/:id',
      operationId: 'getTransaction',
      tag,
      summary: 'One transaction with its request, answer, decision and receipt',
      access: { principal: 'member' },
      responses: { 200: { description: 'The transaction', schema: transactionDetail } },
      errors: ['TRANSACTION_NOT_FOUND'],
    },
    members,
    async (c) => c.json(await getTransaction({ ctx: asMember(deps, c), input: { id: pathParam(c, 'id') } })),
  );
}
