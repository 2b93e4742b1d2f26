import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conn, sql } from '../../gateway/db/types.ts';
import type { Transaction } from '../../gateway/domain/index.ts';
import { getTransactionById, sumSpend } from '../../gateway/repositories/transactions.ts';
import { recordFinish } from '../../gateway/services/execute/forward.ts';
import { percentile } from '../../gateway/services/reporting/analytics.ts';
import { registerBusiness } from '../../gateway/services/tenancy/businesses.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  operator,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { SEED_BUSINESSES, seedLedger } from '../support/ledger-seed.ts';

/**
 * Issue 18: GET /v1/analytics answers from the hourly rollups every figure a scan of the ledger
 * gives (decisions, refusals by rule, decision times, spend by currency, business, category, agent
 * and bucket, costs, limits), by day and by hour, on a ledger of every status, amount and currency,
 * and again after status changes. The anomaly flags follow from the same per-agent series and are
 * checked in test/analytics.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;

const POLICY = {
  spending_limits: [
    { id: 'daily', amount: 50_000_000, interval: 'day', window: 'rolling' },
    { id: 'monthly-food', amount: 50_000_000, interval: 'month', window: 'calendar', categories: ['food'] },
    { id: 'weekly-eur', amount: 50_000_000, interval: 'week', window: 'rolling', currency: 'EUR' },
  ],
  rules: [
    {
      id: 'big-order',
      priority: 10,
      conditions: [{ context: 'amount', op: 'gte', value: 4_000 }],
      action: 'require_approval',
      stage_index: 0,
    },
  ],
  routing_stages: [
    {
      stage_index: 0,
      role: 'admin',
      tier: 'standard',
      quorum: 1,
      approval_timeout_seconds: 86_400,
      on_approval_timeout: 'reject',
    },
  ],
};

interface Money {
  currency: string;
  amount: number;
  count: number;
}

/** A proposal as the analytics see it, read straight from `transactions` and its approval. */
interface Proposal {
  agentId: string;
  createdAt: number;
  currency: string;
  businessId: string | null;
  category: string | null;
  status: string;
  approval: string | null;
  refusedBy: string | null | undefined;
  counted: boolean;
  amount: number | null;
  cost: number | null;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What the analytics must answer, computed from every proposal of the range one by one. */
async function scanned(conn: Conn, workspaceId: string, from: number, to: number, size: number) {
  const proposals = await conn.all(
    sql(
      `SELECT t.agent_id, t.created_at, coalesce(t.currency, ''), t.business_id, t.business_category, t.status,
         a.status, t.approval_id, t.decision, t.spend_state, t.amount, t.cost_micros
       FROM transactions t LEFT JOIN approvals a ON a.id = t.approval_id
       WHERE t.workspace_id = ? AND t.operation IN ('execute', 'evaluate') AND t.created_at >= ? AND t.created_at < ?`,
      (r): Proposal => ({
        agentId: r[0] as string,
        createdAt: Number(r[1]),
        currency: r[2] as string,
        businessId: r[3] as string | null,
        category: r[4] as string | null,
        status: r[5] as string,
        approval: r[6] as string | null,
        refusedBy:
          r[5] === 'rejected' && r[7] === null
            ? ((JSON.parse((r[8] as string | null) ?? '{}') as { ruleId?: string }).ruleId ?? null)
            : undefined,
        counted: r[9] === 'pending' || r[9] === 'posted',
        amount: r[10] === null ? null : Number(r[10]),
        cost: r[11] === null ? null : Number(r[11]),
      }),
    ),
    [workspaceId, from, to],
  );
  const decisions = {
    decided: 0,
    autoApproved: 0,
    humanApproved: 0,
    policyRejected: 0,
    humanRejected: 0,
    expired: 0,
    pending: 0,
  };
  const byRule = new Map<string, number>();
  const add = (m: Map<string, Money & { key?: string | null }>, id: string, base: object, p: Proposal) => {
    const row = m.get(id) ?? { ...base, currency: p.currency, amount: 0, count: 0 };
    row.amount += p.amount as number;
    row.count += 1;
    m.set(id, row);
  };
  const total = new Map<string, Money>();
  const business = new Map<string, Money & { key: string | null }>();
  const category = new Map<string, Money & { key: string | null }>();
  const agent = new Map<string, Money & { key: string | null }>();
  const period = new Map<string, Money & { start: number }>();
  const costs = new Map<string, { agentId: string; costMicros: number; count: number }>();
  let human = 0;
  for (const p of proposals) {
    const a = p.approval;
    const outcome =
      a === 'approved'
        ? 'humanApproved'
        : a === 'rejected'
          ? 'humanRejected'
          : a === 'expired' || p.status === 'expired'
            ? 'expired'
            : a === 'pending' || p.status === 'queued' || p.status === 'pending_approval'
              ? 'pending'
              : p.status === 'rejected'
                ? 'policyRejected'
                : 'autoApproved';
    decisions[outcome]++;
    if (outcome !== 'pending') decisions.decided++;
    if (a === 'rejected') human++;
    if (p.refusedBy !== undefined) {
      const rule = p.refusedBy ?? 'default_action';
      byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
    }
    if (p.cost !== null) {
      const c = costs.get(p.agentId) ?? { agentId: p.agentId, costMicros: 0, count: 0 };
      c.costMicros += p.cost;
      c.count++;
      costs.set(p.agentId, c);
    }
    if (!p.counted || p.amount === null) continue;
    add(total, p.currency, {}, p);
    add(business, `${p.businessId} ${p.currency}`, { key: p.businessId }, p);
    add(category, `${p.category} ${p.currency}`, { key: p.category }, p);
    add(agent, `${p.agentId} ${p.currency}`, { key: p.agentId }, p);
    const start = from + Math.floor((p.createdAt - from) / size) * size;
    add(period, `${start} ${p.currency}`, { start }, p);
  }
  const currencies = [...total.keys()].sort(cmp);
  for (let start = from; start < to; start += size) {
    for (const currency of currencies) {
      if (!period.has(`${start} ${currency}`))
        period.set(`${start} ${currency}`, { start, currency, amount: 0, count: 0 });
    }
  }
  const byKey = (a: { key: string | null; currency: string }, b: { key: string | null; currency: string }) =>
    a.key === b.key
      ? cmp(a.currency, b.currency)
      : a.key === null
        ? 1
        : b.key === null
          ? -1
          : cmp(a.key, b.key);
  const times = await conn.all(
    sql(
      `SELECT updated_at - created_at FROM approvals
       WHERE workspace_id = ? AND status IN ('approved', 'rejected') AND created_at >= ? AND created_at < ?`,
      (r) => Number(r[0]),
    ),
    [workspaceId, from, to],
  );
  times.sort((x, y) => x - y);
  const iso = (ms: number) => new Date(ms).toISOString();
  const decided = decisions.decided;
  return {
    decisions: {
      ...decisions,
      approvalRate: decided === 0 ? null : (decisions.autoApproved + decisions.humanApproved) / decided,
      autoApproveRate: decided === 0 ? null : decisions.autoApproved / decided,
    },
    rejections: {
      byRule: [...byRule.entries()]
        .map(([ruleId, count]) => ({ ruleId, count }))
        .sort(
          (x, y) =>
            y.count - x.count ||
            cmp(x.ruleId === 'default_action' ? '' : x.ruleId, y.ruleId === 'default_action' ? '' : y.ruleId),
        ),
      human,
    },
    decisionTime: { count: times.length, medianMs: percentile(times, 0.5), p90Ms: percentile(times, 0.9) },
    spend: {
      total: [...total.values()].sort((x, y) => cmp(x.currency, y.currency)),
      byBusiness: [...business.values()].sort(byKey),
      byCategory: [...category.values()].sort(byKey),
      byAgent: [...agent.values()].sort(byKey),
      byPeriod: [...period.values()]
        .sort((x, y) => x.start - y.start || cmp(x.currency, y.currency))
        .map((b) => ({ ...b, start: iso(b.start) })),
    },
    cost: {
      totalMicros: [...costs.values()].reduce((n, c) => n + c.costMicros, 0),
      count: [...costs.values()].reduce((n, c) => n + c.count, 0),
      byAgent: [...costs.values()].sort((x, y) => cmp(x.agentId, y.agentId)),
    },
  };
}

describe.each(DIALECTS)('GET /v1/analytics from the rollups (issue 18) on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;

  async function expectSameAsScan() {
    for (const [granularity, span, size] of [
      ['day', 30 * DAY, DAY],
      ['hour', 7 * DAY, HOUR],
    ] as const) {
      const to = new Date(gw.now.value).toISOString();
      const from = new Date(gw.now.value - span).toISOString();
      const res = await call(gw, 'GET', `/v1/analytics?from=${from}&to=${to}&granularity=${granularity}`, {
        key: tenant.adminToken,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const a = res.body as Record<string, never> & { range: { from: string; to: string } };
      const expected = await scanned(
        gw.db.reader,
        tenant.workspaceId,
        Date.parse(a.range.from),
        Date.parse(a.range.to),
        size,
      );
      expect(a.decisions).toEqual(expected.decisions);
      expect(a.rejections).toEqual(expected.rejections);
      expect(a.decisionTime).toEqual(expected.decisionTime);
      expect(a.spend).toEqual(expected.spend);
      expect(a.cost).toEqual(expected.cost);
      expect(expected.decisions.decided).toBeGreaterThan(granularity === 'day' ? 1_000 : 100);
      expect(expected.decisionTime.count).toBeGreaterThan(0);
      expect(expected.rejections.byRule.length).toBeGreaterThan(2);

      const usage = (
        a as unknown as {
          limits: { usage: { id: string; windowStart: string; used: number; reserved: number }[] };
        }
      ).limits.usage;
      expect(usage).toHaveLength(POLICY.spending_limits.length);
      for (const u of usage) {
        const limit = POLICY.spending_limits.find((l) => l.id === u.id);
        const totals = await sumSpend(gw.db.reader, {
          workspaceId: tenant.workspaceId,
          since: Date.parse(u.windowStart),
          categories: limit?.categories,
          currency: limit?.currency ?? 'USD',
        });
        expect({ id: u.id, used: u.used, reserved: u.reserved }).toEqual({
          id: u.id,
          used: totals.posted + totals.pending,
          reserved: totals.pending,
        });
      }
    }
  }

  const openRows = (status: string) =>
    gw.db.reader.all(
      sql(
        `SELECT id FROM transactions WHERE workspace_id = ? AND status = ? AND operation = 'execute' ORDER BY id DESC LIMIT 3`,
        (r) => r[0] as string,
      ),
      [tenant.workspaceId, status],
    );

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw, { agentId: 'buyer' });
    for (const b of SEED_BUSINESSES) {
      await registerBusiness({ ctx: operator(gw), input: { ...b, name: b.id, adapter: { type: 'echo' } } });
    }
    expect(
      (await call(gw, 'PUT', '/v1/policies/default', { key: tenant.adminToken, body: POLICY })).status,
    ).toBe(201);
    gw.now.advance(37 * 60_000);
    await seedLedger(gw.db, {
      workspaceId: tenant.workspaceId,
      agentKeyId: tenant.agentKeyId,
      count: 5_000,
      now: gw.now.value - 60_000,
      spanMs: 45 * DAY,
      inFlightMs: 45 * DAY,
    });
    for (let i = 0; i < 6; i++) {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: {
          businessId: 'cafe',
          request: { sku: 'sticker', quantity: 1, amount_cents: 250 + i, currency: 'EUR' },
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      gw.now.advance(1_000);
    }
  });
  afterAll(() => gw.dispose());

  it('a mix of statuses, amounts and currencies: the same figures as a scan of the ledger', async () => {
    await expectSameAsScan();
  });

  it('after pending → succeeded, unknown → settled, parked → rejected and parked → approved', async () => {
    const [pending] = await openRows('pending');
    const t = (await getTransactionById(gw.db.reader, pending as string)) as Transaction;
    await gw.db.transaction({ workspaceId: tenant.workspaceId }, (tx) =>
      recordFinish(
        tx,
        { deps: gw.deps },
        {
          transaction: t,
          outcome: { status: 'succeeded', data: null, error: null, answer: undefined },
          at: gw.now.value,
        },
      ),
    );
    const [unknown] = await openRows('unknown');
    const resolved = await call(gw, 'POST', `/v1/transactions/${unknown}/resolve`, {
      key: tenant.adminToken,
      body: { status: 'failed', reason: 'the business told us' },
    });
    expect(resolved.status).toBe(200);
    for (const decision of ['reject', 'approve'] as const) {
      const parked = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: 'shop', request: { sku: 'sticker', quantity: 1, amount_cents: 4_200 } },
      });
      expect(parked.status).toBe(202);
      gw.now.advance(90_000);
      const voted = await call(
        gw,
        'POST',
        `/v1/approvals/${(parked.body.approval as { id: string }).id}/${decision}`,
        {
          key: tenant.adminToken,
          body: {},
        },
      );
      expect(voted.status, JSON.stringify(voted.body)).toBe(200);
    }
    await expectSameAsScan();
  });
});
