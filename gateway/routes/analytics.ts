import { setImmediate as turn } from 'node:timers/promises';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { Analytics } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import { computeAnalytics, getPricing, updatePricing } from '../services/reporting/index.ts';
import { asMember } from './context.ts';
import { isoTime } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody, parseQuery } from './validate.ts';

const DAY = 86_400_000;
/** Without `from`, the range starts this long before `to`. */
const DEFAULT_SPAN = 30 * DAY;

/** An ISO 8601 timestamp with its offset, or a UTC date (a date as `to` includes that whole day). */
const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const analyticsQuery = z
  .object({
    from: instant.optional().describe('Start (inclusive); default 30 days before `to`.'),
    to: instant.optional().describe('End (exclusive; a date includes its day); default now.'),
    granularity: z.enum(['day', 'hour']).default('day').describe('UTC buckets of the spend series.'),
  })
  .strict();

const isDate = (s: string) => !s.includes('T');

const money = { currency: z.string(), amount: z.number().int(), count: z.number().int() };
const spendByKey = z.object({ key: z.string().nullable(), ...money });
const rate = z.number().min(0).max(1).nullable();

export const analyticsAnswer = z.object({
  range: z.object({
    from: isoTime,
    to: isoTime,
    granularity: z.enum(['day', 'hour']),
    buckets: z.number().int(),
  }),
  decisions: z.object({
    decided: z.number().int(),
    autoApproved: z.number().int(),
    humanApproved: z.number().int(),
    policyRejected: z.number().int(),
    humanRejected: z.number().int(),
    expired: z.number().int(),
    pending: z.number().int(),
    approvalRate: rate,
    autoApproveRate: rate,
  }),
  rejections: z.object({
    byRule: z.array(z.object({ ruleId: z.string(), count: z.number().int() })),
    human: z.number().int(),
  }),
  decisionTime: z.object({
    count: z.number().int(),
    medianMs: z.number().int().nullable(),
    p90Ms: z.number().int().nullable(),
  }),
  spend: z.object({
    total: z.array(z.object(money)),
    byBusiness: z.array(spendByKey),
    byCategory: z.array(spendByKey),
    byAgent: z.array(spendByKey),
    byPeriod: z.array(z.object({ start: isoTime, ...money })),
  }),
  limits: z.object({
    policy: z.object({ name: z.string(), version: z.number().int() }).nullable(),
    usage: z.array(
      z.object({
        id: z.string(),
        interval: z.string(),
        window: z.enum(['rolling', 'calendar']).nullable(),
        currency: z.string(),
        categories: z.array(z.string()).nullable(),
        windowStart: isoTime.nullable(),
        used: z.number().int(),
        reserved: z.number().int(),
        limit: z.number().int(),
        share: z.number().nullable(),
      }),
    ),
  }),
  cost: z.object({
    totalMicros: z.number().int(),
    count: z.number().int(),
    byAgent: z.array(
      z.object({ agentId: z.string(), costMicros: z.number().int(), count: z.number().int() }),
    ),
  }),
  anomalies: z.array(
    z.object({
      agentId: z.string(),
      metric: z.enum(['spend', 'requests']),
      currency: z.string().nullable(),
      bucketStart: isoTime,
      observed: z.number(),
      baseline: z.object({
        median: z.number(),
        mad: z.number(),
        max: z.number(),
        threshold: z.number(),
        window: z.number().int(),
      }),
    }),
  ),
});

const iso = (ms: number) => new Date(ms).toISOString();

/** The service's answer with its times as ISO 8601 UTC (DESIGN §3). */
export function viewAnalytics(a: Analytics): z.infer<typeof analyticsAnswer> {
  return {
    ...a,
    range: { ...a.range, from: iso(a.range.from), to: iso(a.range.to) },
    spend: { ...a.spend, byPeriod: a.spend.byPeriod.map((b) => ({ ...b, start: iso(b.start) })) },
    limits: {
      ...a.limits,
      usage: a.limits.usage.map((u) => ({
        ...u,
        windowStart: u.windowStart === null ? null : iso(u.windowStart),
      })),
    },
    anomalies: a.anomalies.map((f) => ({ ...f, bucketStart: iso(f.bucketStart) })),
  };
}

const micros = z.number().int().min(0).max(1_000_000_000_000);

export const pricingBody = z
  .object({
    evaluationPriceMicros: micros.describe('The price of one evaluation for agents without their own.'),
    agents: z
      .record(z.string().min(1).max(128), micros)
      .refine((agents) => Object.keys(agents).length <= 1_000, 'at most 1,000 agent prices')
      .default({})
      .describe('Agent id → its own price; an agent left out pays the default.'),
  })
  .strict();

const pricingAnswer = z.object({
  evaluationPriceMicros: z.number().int(),
  agents: z.record(z.string(), z.number().int()),
});

const tag = 'Analytics';

/** Issue 14, item 6: workspace analytics and evaluation prices. */
export function registerAnalyticsRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  // The ledger and /v1/transactions/summary are open to every member, approvers included: these
  // are aggregates of what they may read already.
  const readers = memberAuth({ deps });
  const admins = memberAuth({ deps, roles: ['admin'] });

  route(
    app,
    {
      method: 'get',
      path: '/v1/analytics',
      operationId: 'getAnalytics',
      tag,
      summary: 'Approval rates, rejections by rule, decision times, spend, limits, costs and anomalies',
      description:
        'Over [from, to) rounded out to whole UTC buckets (at most 2,000). Spend counts as a spending ' +
        'limit counts it (docs/policies.md): succeeded, or admitted and not yet finished; per currency. ' +
        'An agent bucket is flagged when its requests or spend exceed max(3 × median, median + 4 × MAD, ' +
        'the largest) of its previous 14 buckets (at least 7 since its first activity; requests also above 5).',
      access: { principal: 'member' },
      query: analyticsQuery,
      responses: { 200: { description: 'The analytics', schema: analyticsAnswer } },
    },
    readers,
    async (c) => {
      const q = parseQuery(c, analyticsQuery);
      const to = q.to === undefined ? deps.clock() : Date.parse(q.to) + (isDate(q.to) ? DAY : 0);
      const from = q.from === undefined ? to - DEFAULT_SPAN : Date.parse(q.from);
      const analytics = await computeAnalytics({
        ctx: asMember(deps, c),
        input: { from, to, granularity: q.granularity },
      });
      const view = viewAnalytics(analytics);
      // Up to 2,000 buckets per currency: writing the JSON gets a turn of the event loop of its own.
      await turn();
      return c.json(view);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/pricing',
      operationId: 'getPricing',
      tag,
      summary: 'The price of one evaluation: the default and per agent',
      access: { principal: 'member', roles: ['admin', 'developer'] },
      responses: { 200: { description: 'The prices, in micros', schema: pricingAnswer } },
    },
    memberAuth({ deps, roles: ['admin', 'developer'] }),
    async (c) => c.json(await getPricing({ ctx: asMember(deps, c) })),
  );

  route(
    app,
    {
      method: 'put',
      path: '/v1/pricing',
      operationId: 'putPricing',
      tag,
      summary: 'Replace the evaluation prices (audited)',
      description:
        'Executes and evaluations admitted from then on record the price in force (agent price, else ' +
        'the default); earlier ones keep theirs.',
      access: { principal: 'member', roles: ['admin'] },
      body: pricingBody,
      responses: { 200: { description: 'The prices now in force', schema: pricingAnswer } },
      errors: ['NOT_FOUND'],
    },
    admins,
    async (c) => {
      const input = await parseBody(c, pricingBody);
      return c.json(await updatePricing({ ctx: asMember(deps, c), input }));
    },
  );
}
