import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conn, sql } from '../../gateway/db/types.ts';
import type { Transaction } from '../../gateway/domain/index.ts';
import { getTransactionById, sumSpend } from '../../gateway/repositories/transactions.ts';
import { recordFinish } from '../../gateway/services/execute/forward.ts';
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
 * Issue 18: GET /v1/transactions/summary answers from the hourly rollups what a full scan of the
 * ledger answers for the span it reports (`from` to `to`), and each limit what the admission's own
 * spend query counts, on a ledger of every status, amount and currency, and again after status
 * changes: pending → succeeded, unknown → settled, parked → rejected, parked → approved.
 */

const DAY = 86_400_000;

const POLICY = {
  default_action: 'auto_approve',
  spending_limits: [
    { id: 'hourly', amount: 50_000_000, interval: 'hour', window: 'rolling' },
    { id: 'daily', amount: 50_000_000, interval: 'day', window: 'rolling' },
    { id: 'weekly-travel', amount: 50_000_000, interval: 'week', window: 'calendar', categories: ['travel'] },
    { id: 'monthly-eur', amount: 50_000_000, interval: 'month', window: 'rolling', currency: 'EUR' },
    { id: 'ever', amount: 900_000_000, interval: 'all_time' },
    { id: 'per-order', amount: 1_000_000, interval: 'per_transaction' },
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

type Row = { key: string; count: number; amount: number };
type Summary = {
  from: string;
  to: string;
  byBusiness: Row[];
  byCategory: Row[];
  byAgent: Row[];
  limits: { id: string; windowStart?: string; used?: number; reserved?: number; remaining?: number }[];
};

/** The summary's breakdown as a scan of every transaction computes it (the query it replaced). */
async function scanned(conn: Conn, workspaceId: string, since: number, by: string): Promise<Row[]> {
  const rows = await conn.all(
    sql(
      `SELECT ${by}, count(*), coalesce(sum(amount), 0) FROM transactions
       WHERE workspace_id = ? AND operation = 'execute' AND created_at >= ? AND spend_state IN ('pending', 'posted')
       GROUP BY ${by}`,
      (r): Row => ({ key: (r[0] as string | null) ?? '', count: Number(r[1]), amount: Number(r[2]) }),
    ),
    [workspaceId, since],
  );
  return rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

describe.each(DIALECTS)('GET /v1/transactions/summary from the rollups (issue 18) on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;

  const summary = async (interval: string): Promise<Summary> => {
    const res = await call(gw, 'GET', `/v1/transactions/summary?interval=${interval}`, {
      key: tenant.adminToken,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as unknown as Summary;
  };

  /** Every interval's answer against the scan and the admission's spend totals. */
  async function expectSameAsScan() {
    for (const [interval, span] of [
      ['day', DAY],
      ['week', 7 * DAY],
      ['month', 30 * DAY],
    ] as const) {
      const s = await summary(interval);
      const since = Date.parse(s.from);
      expect(Date.parse(s.to)).toBe(gw.now.value);
      // The start of the hour `interval` before now.
      expect(since % 3_600_000).toBe(0);
      expect(since).toBeLessThanOrEqual(gw.now.value - span);
      expect(since).toBeGreaterThan(gw.now.value - span - 3_600_000);
      expect(s.byBusiness).toEqual(await scanned(gw.db.reader, tenant.workspaceId, since, 'business_id'));
      expect(s.byCategory).toEqual(
        await scanned(gw.db.reader, tenant.workspaceId, since, 'business_category'),
      );
      expect(s.byAgent).toEqual(await scanned(gw.db.reader, tenant.workspaceId, since, 'agent_id'));
      expect(s.byAgent.length).toBeGreaterThan(1);

      for (const limit of s.limits) {
        const config = POLICY.spending_limits.find((l) => l.id === limit.id);
        if (config?.interval === 'per_transaction') {
          expect(limit.windowStart).toBeUndefined();
          continue;
        }
        const totals = await sumSpend(gw.db.reader, {
          workspaceId: tenant.workspaceId,
          since: Date.parse(limit.windowStart as string),
          categories: config?.categories,
          currency: config?.currency ?? 'USD',
        });
        expect({ id: limit.id, used: limit.used, reserved: limit.reserved }).toEqual({
          id: limit.id,
          used: totals.posted,
          reserved: totals.pending,
        });
        expect(totals.posted + totals.pending).toBeGreaterThan(0);
      }
    }
  }

  const openRows = (status: string) =>
    gw.db.reader.all(
      sql(
        `SELECT id FROM transactions WHERE workspace_id = ? AND status = ? AND operation = 'execute' ORDER BY id DESC LIMIT 5`,
        (r) => r[0] as string,
      ),
      [tenant.workspaceId, status],
    );

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw, { agentId: 'buyer' });
    for (const b of [...SEED_BUSINESSES, { id: 'solo', category: 'solo' }]) {
      await registerBusiness({ ctx: operator(gw), input: { ...b, name: b.id, adapter: { type: 'echo' } } });
    }
    expect(
      (await call(gw, 'PUT', '/v1/policies/default', { key: tenant.adminToken, body: POLICY })).status,
    ).toBe(201);
    // 20 minutes past the hour: `from` is the start of the hour, earlier than now minus the interval.
    gw.now.advance(20 * 60_000);
    await seedLedger(gw.db, {
      workspaceId: tenant.workspaceId,
      agentKeyId: tenant.agentKeyId,
      count: 4_000,
      now: gw.now.value - 60_000,
      spanMs: 40 * DAY,
      inFlightMs: 40 * DAY,
    });
    // And executes through the gateway, the hot path: pending, then succeeded, one counter write.
    for (let i = 0; i < 12; i++) {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: {
          businessId: 'air',
          request: { sku: 'sticker', quantity: 1, amount_cents: 100 + i, currency: 'EUR' },
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      gw.now.advance(1_000);
    }
  });
  afterAll(() => gw.dispose());

  it('a mix of statuses, amounts and currencies: the same numbers as a scan of the ledger', async () => {
    await expectSameAsScan();
  });

  it('pending → succeeded: the reservation is posted, the counts stay', async () => {
    const [id] = await openRows('pending');
    const t = (await getTransactionById(gw.db.reader, id as string)) as Transaction;
    expect(t.spendState).toBe('pending');
    const recorded = await gw.db.transaction({ workspaceId: tenant.workspaceId }, (tx) =>
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
    expect(recorded?.transaction.spendState).toBe('posted');
    await expectSameAsScan();
  });

  it('unknown → settled by an admin (succeeded, failed)', async () => {
    const unknown = await openRows('unknown');
    expect(unknown.length).toBeGreaterThan(1);
    for (const [i, id] of unknown.slice(0, 2).entries()) {
      const res = await call(gw, 'POST', `/v1/transactions/${id}/resolve`, {
        key: tenant.adminToken,
        body: { status: i ? 'failed' : 'succeeded', reason: 'the business told us' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    await expectSameAsScan();
  });

  it('parked → rejected and parked → approved (then executed) by an approver', async () => {
    // A parked execute (the policy asks for approval at 4,000), the only one of its business: once
    // rejected, nothing of that business counts and it leaves the breakdowns.
    const parked = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'solo', request: { sku: 'sticker', quantity: 1, amount_cents: 4_500 } },
    });
    expect(parked.status, JSON.stringify(parked.body)).toBe(202);
    await expectSameAsScan();
    expect((await summary('day')).byBusiness.map((r) => r.key)).toContain('solo');
    const approvalId = (parked.body.approval as { id: string }).id;
    const rejected = await call(gw, 'POST', `/v1/approvals/${approvalId}/reject`, {
      key: tenant.adminToken,
      body: { reason: 'no' },
    });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    await expectSameAsScan();
    expect((await summary('day')).byBusiness.map((r) => r.key)).not.toContain('solo');

    const again = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'cafe', request: { sku: 'sticker', quantity: 1, amount_cents: 5_000 } },
    });
    expect(again.status).toBe(202);
    const approved = await call(
      gw,
      'POST',
      `/v1/approvals/${(again.body.approval as { id: string }).id}/approve`,
      {
        key: tenant.adminToken,
        body: {},
      },
    );
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    await expectSameAsScan();
  });
});
