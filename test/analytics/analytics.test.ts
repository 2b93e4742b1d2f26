import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conn } from '../../gateway/db/types.ts';
import { analyticsAnswer } from '../../gateway/routes/analytics.ts';
import { computeAnalytics, recentAnalytics } from '../../gateway/services/reporting/analytics.ts';
import { expectError } from '../api/envelope.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  addAgentKey,
  call,
  createTenant,
  inWorkspace,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

const DAY = 86_400_000;
/** Day 0 of the traffic, 10:00 UTC; the analysed range is 2026-11-01 … 2026-11-15 (15 days). */
const T0 = Date.parse('2026-11-01T10:00:00Z');

const POLICY = {
  default_action: 'auto_approve',
  spending_limits: [
    { id: 'daily', amount: 1_000_000, interval: 'day', window: 'rolling' },
    { id: 'daily-eur', amount: 100_000, interval: 'day', window: 'rolling', currency: 'EUR' },
  ],
  rules: [
    {
      id: 'no-gift-cards',
      priority: 10,
      conditions: [{ field: 'item', op: 'contains', value: 'gift card' }],
      action: 'reject',
      reason: 'Gift cards are not allowed',
    },
    {
      id: 'big-order',
      priority: 20,
      conditions: [{ context: 'amount', op: 'gte', value: 5000 }],
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

type Analytics = ReturnType<typeof analyticsAnswer.parse>;

describe.each(DIALECTS)('GET /v1/analytics (issue 14, item 6) on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  const keys: Record<string, string> = {};
  const tokens: Record<string, string> = {};

  // What the test sent, from which it computes what the endpoint must answer.
  const prices = { fallback: 1000, agents: { spiky: 2500 } as Record<string, number> };
  const cost: Record<string, { micros: number; count: number }> = {};
  const spend: Record<string, number> = {};
  const decisionMs: number[] = [];
  let autoApproved = 0;
  let dailyWindowSpend = 0;

  const at = (day: number, seconds = 0) => {
    gw.now.value = T0 + day * DAY + seconds * 1000;
  };
  const charge = (agent: string) => {
    const c = cost[agent] ?? { micros: 0, count: 0 };
    cost[agent] = c;
    c.micros += prices.agents[agent] ?? prices.fallback;
    c.count += 1;
  };
  const counted = (agent: string, currency: string, amount: number, inDailyWindow = false) => {
    spend[`${agent} ${currency}`] = (spend[`${agent} ${currency}`] ?? 0) + amount;
    if (inDailyWindow && currency === 'USD') dailyWindowSpend += amount;
  };
  const execute = (agent: string, request: Record<string, unknown>) =>
    call(gw, 'POST', '/agp/execute', { key: keys[agent], body: { businessId: 'echo', request } });
  /** An order that the policy lets through at once: it succeeds and counts. */
  const order = async (agent: string, amount: number, day: number, currency = 'USD') => {
    const res = await execute(agent, { sku: 'sticker', quantity: 1, amount_cents: amount, currency });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('succeeded');
    charge(agent);
    counted(agent, currency, amount, day === 14);
    autoApproved += 1;
  };
  const putPricing = async (body: unknown, token = tenant.adminToken) =>
    call(gw, 'PUT', '/v1/pricing', { key: token, body });
  const analytics = async (query: string, token = tenant.adminToken) =>
    call(gw, 'GET', `/v1/analytics${query}`, { key: token });

  let result: Analytics;

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw, { agentId: 'buyer' });
    await registerEcho(gw);
    keys.buyer = tenant.agentKey;
    keys.quiet = await addAgentKey(gw, tenant, 'quiet');
    keys.spiky = await addAgentKey(gw, tenant, 'spiky');
    for (const role of ['developer', 'approver'] as const) {
      const res = await call(gw, 'POST', '/v1/members', {
        key: tenant.adminToken,
        body: { email: `${role}@acme.test`, role },
      });
      tokens[role] = res.body.token as string;
    }
    at(0);
    expect((await putPricing({ evaluationPriceMicros: 1000, agents: { spiky: 2500 } })).status).toBe(200);
    expect(
      (await call(gw, 'PUT', '/v1/policies/default', { key: tenant.adminToken, body: POLICY })).status,
    ).toBe(201);

    // Fourteen ordinary days: quiet orders twice, spiky once, 100 cents each.
    for (let day = 0; day < 14; day++) {
      at(day, 1);
      if (day === 7) {
        // A new default price from day 7: later admissions snapshot it, earlier ones keep theirs.
        expect((await putPricing({ evaluationPriceMicros: 2000, agents: { spiky: 2500 } })).status).toBe(200);
        prices.fallback = 2000;
      }
      await order('quiet', 100, day);
      await order('quiet', 100, day);
      await order('spiky', 100, day);
    }

    // Day 14: quiet as usual; spiky suddenly orders twelve times, ten times dearer.
    at(14, 1);
    await order('quiet', 100, 14);
    await order('quiet', 100, 14);
    for (let i = 0; i < 12; i++) await order('spiky', 1000, 14);

    // A refusal by a named rule: recorded, never admitted (no cost, no spend).
    at(14, 100);
    const refused = await execute('buyer', { item: 'gift card', amount_cents: 100 });
    expectError(refused, 403, 'POLICY_REJECTED');
    expect((refused.body.details as { ruleId: string }).ruleId).toBe('no-gift-cards');

    // Three big orders parked for an admin, decided 60 s, 180 s and 600 s after they were parked.
    at(14, 200);
    const parked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await execute('buyer', { sku: 'grinder', quantity: 1, amount_cents: 6000, n: i });
      expect(res.status).toBe(202);
      parked.push((res.body.approval as { id: string }).id);
      charge('buyer');
    }
    const decide = async (id: string, decision: 'approve' | 'reject', afterSeconds: number) => {
      at(14, 200 + afterSeconds);
      const res = await call(gw, 'POST', `/v1/approvals/${id}/${decision}`, {
        key: tenant.adminToken,
        body: {},
      });
      expect(res.status).toBe(200);
      decisionMs.push(afterSeconds * 1000);
    };
    await decide(parked[0] as string, 'approve', 60);
    counted('buyer', 'USD', 6000, true);
    await decide(parked[1] as string, 'approve', 180);
    counted('buyer', 'USD', 6000, true);
    await decide(parked[2] as string, 'reject', 600);

    // Another currency, and an evaluation (its caller executes; the reservation counts until then).
    at(14, 900);
    await order('buyer', 700, 14, 'EUR');
    const evaluated = await call(gw, 'POST', '/v1/evaluate', {
      key: keys.buyer,
      body: { context: { agent_id: 'buyer', payload_scope: { item: 'coffee', amount_cents: 300 } } },
    });
    expect(evaluated.status).toBe(200);
    expect(evaluated.body.status).toBe('auto_approved');
    charge('buyer');
    counted('buyer', 'USD', 300, true);
    autoApproved += 1;

    at(14, 3600);
    const res = await analytics('?from=2026-11-01&to=2026-11-15&granularity=day');
    expect(res.status).toBe(200);
    result = analyticsAnswer.parse(res.body);
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('covers whole UTC days, the date given as `to` included', () => {
    expect(result.range).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-16T00:00:00.000Z',
      granularity: 'day',
      buckets: 15,
    });
  });

  it('answers the approval and auto-approve rates of what was sent', () => {
    const decided = autoApproved + 2 + 1 + 1;
    expect(result.decisions).toEqual({
      decided,
      autoApproved,
      humanApproved: 2,
      policyRejected: 1,
      humanRejected: 1,
      expired: 0,
      pending: 0,
      approvalRate: (autoApproved + 2) / decided,
      autoApproveRate: autoApproved / decided,
    });
  });

  it('counts policy rejections by rule and human rejections apart', () => {
    expect(result.rejections).toEqual({ byRule: [{ ruleId: 'no-gift-cards', count: 1 }], human: 1 });
  });

  it('answers the median and p90 of the human decision times', () => {
    const sorted = [...decisionMs].sort((a, b) => a - b);
    expect(sorted).toEqual([60_000, 180_000, 600_000]);
    // p50: the middle one; p90: 80 % of the way from the second to the third (linear interpolation).
    expect(result.decisionTime).toEqual({ count: 3, medianMs: 180_000, p90Ms: 180_000 + 0.8 * 420_000 });
  });

  it('answers the spend per agent and currency as counted (succeeded or reserved; human rejection voided)', () => {
    const expected = Object.entries(spend)
      .map(([id, amount]) => {
        const [key, currency] = id.split(' ');
        return { key, currency, amount };
      })
      .sort((a, b) => `${a.key} ${a.currency}`.localeCompare(`${b.key} ${b.currency}`));
    expect(result.spend.byAgent.map(({ key, currency, amount }) => ({ key, currency, amount }))).toEqual(
      expected,
    );
    expect(result.spend.byAgent.find((r) => r.key === 'buyer' && r.currency === 'USD')).toMatchObject({
      amount: 12_300,
      count: 3,
    });
    const usd = Object.entries(spend)
      .filter(([id]) => id.endsWith(' USD'))
      .reduce((n, [, amount]) => n + amount, 0);
    expect(result.spend.total).toEqual([
      { currency: 'EUR', amount: 700, count: 1 },
      { currency: 'USD', amount: usd, count: 30 + 26 + 3 },
    ]);
    // The evaluation has no business: its spend is under a null business and category.
    expect(result.spend.byBusiness).toEqual([
      { key: 'echo', currency: 'EUR', amount: 700, count: 1 },
      { key: 'echo', currency: 'USD', amount: usd - 300, count: 58 },
      { key: null, currency: 'USD', amount: 300, count: 1 },
    ]);
    expect(result.spend.byCategory.find((r) => r.key === 'demo' && r.currency === 'USD')?.amount).toBe(
      usd - 300,
    );
  });

  it('buckets spend per UTC day, every day of the range', () => {
    const usd = result.spend.byPeriod.filter((b) => b.currency === 'USD');
    expect(usd).toHaveLength(15);
    expect(usd.slice(0, 14).every((b) => b.amount === 300 && b.count === 3)).toBe(true);
    expect(usd[14]).toEqual({
      start: '2026-11-15T00:00:00.000Z',
      currency: 'USD',
      amount: 24_500,
      count: 17,
    });
    const eur = result.spend.byPeriod.filter((b) => b.currency === 'EUR');
    expect(eur.map((b) => b.amount)).toEqual([...new Array(14).fill(0), 700]);
  });

  it('answers spend against each limit of the active policy, in its own window', () => {
    expect(dailyWindowSpend).toBe(24_500);
    expect(result.limits.policy).toEqual({ name: 'default', version: 1 });
    expect(result.limits.usage).toEqual([
      {
        id: 'daily',
        interval: 'day',
        window: 'rolling',
        currency: 'USD',
        categories: null,
        windowStart: new Date(T0 + 14 * DAY + 3_600_000 - DAY).toISOString(),
        used: dailyWindowSpend,
        reserved: 300,
        limit: 1_000_000,
        share: dailyWindowSpend / 1_000_000,
      },
      {
        id: 'daily-eur',
        interval: 'day',
        window: 'rolling',
        currency: 'EUR',
        categories: null,
        windowStart: new Date(T0 + 14 * DAY + 3_600_000 - DAY).toISOString(),
        used: 700,
        reserved: 0,
        limit: 100_000,
        share: 0.007,
      },
    ]);
  });

  it('rolls up the price snapshotted at each admission, per agent and in total', () => {
    const byAgent = Object.entries(cost)
      .map(([agentId, c]) => ({ agentId, costMicros: c.micros, count: c.count }))
      .sort((a, b) => a.agentId.localeCompare(b.agentId));
    expect(result.cost.byAgent).toEqual(byAgent);
    // quiet: 14 orders at 1000, then 16 at 2000; spiky: its own 2500, 26 times; buyer: 5 at 2000.
    expect(byAgent).toEqual([
      { agentId: 'buyer', costMicros: 10_000, count: 5 },
      { agentId: 'quiet', costMicros: 46_000, count: 30 },
      { agentId: 'spiky', costMicros: 65_000, count: 26 },
    ]);
    expect(result.cost.totalMicros).toBe(121_000);
    expect(result.cost.count).toBe(61);
  });

  it('flags the spike against the agent’s own baseline, and not the quiet agent', () => {
    expect(result.anomalies).toEqual([
      {
        agentId: 'spiky',
        metric: 'requests',
        currency: null,
        bucketStart: '2026-11-15T00:00:00.000Z',
        observed: 12,
        baseline: { median: 1, mad: 0, max: 1, threshold: 5, window: 14 },
      },
      {
        agentId: 'spiky',
        metric: 'spend',
        currency: 'USD',
        bucketStart: '2026-11-15T00:00:00.000Z',
        observed: 12_000,
        baseline: { median: 100, mad: 0, max: 100, threshold: 300, window: 14 },
      },
    ]);
  });

  it('answers the service’s result to the console unchanged (epoch ms)', async () => {
    const direct = await computeAnalytics({
      ctx: inWorkspace(gw, tenant.workspaceId),
      input: { from: Date.parse('2026-11-01'), to: Date.parse('2026-11-16'), granularity: 'day' },
    });
    expect(direct.range.from).toBe(Date.parse('2026-11-01T00:00:00Z'));
    expect(direct.decisions).toEqual(result.decisions);
    expect(direct.cost).toEqual(result.cost);
  });

  it('buckets by the hour: the spike is one hour of day 14', async () => {
    const res = await analytics('?from=2026-11-15T00:00:00Z&to=2026-11-16T00:00:00Z&granularity=hour');
    expect(res.status).toBe(200);
    const hourly = analyticsAnswer.parse(res.body);
    expect(hourly.range.buckets).toBe(24);
    const tenOClock = hourly.spend.byPeriod.find((b) => b.currency === 'USD' && b.amount > 0);
    expect(tenOClock).toEqual({
      start: '2026-11-15T10:00:00.000Z',
      currency: 'USD',
      amount: 24_500,
      count: 17,
    });
    // The agents were silent the 14 hours before: no baseline, no flags.
    expect(hourly.anomalies).toEqual([]);
  });

  it('defaults to the last 30 days by day', async () => {
    const res = await analytics('');
    expect(res.status).toBe(200);
    const body = analyticsAnswer.parse(res.body);
    expect(body.range.granularity).toBe('day');
    expect(body.range.to).toBe('2026-11-16T00:00:00.000Z');
    expect(body.range.buckets).toBe(31);
    expect(body.decisions.decided).toBe(result.decisions.decided);
  });

  it('refuses bad parameters with the JSON envelope (400)', async () => {
    for (const query of [
      '?granularity=week',
      '?from=yesterday',
      '?to=2026-13-01',
      '?from=2026-11-10&to=2026-11-01',
      '?colour=blue',
    ]) {
      expectError(await analytics(query), 400, 'VALIDATION_ERROR');
    }
    const tooMany = await analytics('?from=2026-01-01&to=2026-11-01&granularity=hour');
    expectError(tooMany, 400, 'VALIDATION_ERROR', /at most 2000 are allowed/);
  });

  it('is open to developers and approvers, and refused to agent keys (401) and strangers', async () => {
    for (const role of ['developer', 'approver'] as const) {
      const res = await analytics('?from=2026-11-01&to=2026-11-15', tokens[role]);
      expect(res.status).toBe(200);
      expect(analyticsAnswer.parse(res.body).decisions).toEqual(result.decisions);
    }
    expectError(await analytics('', keys.buyer), 401, 'UNAUTHORIZED');
    expectError(await call(gw, 'GET', '/v1/analytics'), 401, 'UNAUTHORIZED');
    // Another workspace sees only its own (nothing).
    const other = await createTenant(gw, { name: 'Other' });
    const theirs = analyticsAnswer.parse(
      (await analytics('?from=2026-11-01&to=2026-11-15', other.adminToken)).body,
    );
    expect(theirs.decisions.decided).toBe(0);
    expect(theirs.spend.total).toEqual([]);
  });
});

describe.each(DIALECTS)('/v1/pricing (issue 14) on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw, { agentId: 'buyer' });
    await registerEcho(gw);
    for (const role of ['developer', 'approver'] as const) {
      const res = await call(gw, 'POST', '/v1/members', {
        key: tenant.adminToken,
        body: { email: `${role}@acme.test`, role },
      });
      tokens[role] = res.body.token as string;
    }
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  const lastCost = async () => {
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request: { sku: 'sticker', quantity: 1, n: Math.random() } },
    });
    expect(res.status).toBe(200);
    // The snapshot is on the transaction itself, as the ledger API shows it.
    const txn = await call(gw, 'GET', `/v1/transactions/${res.body.transactionId}`, {
      key: tenant.adminToken,
    });
    const listed = await call(gw, 'GET', '/v1/transactions?limit=1', { key: tenant.adminToken });
    expect((listed.body.transactions as { costMicros: number }[])[0]?.costMicros).toBe(txn.body.costMicros);
    const analytics = await computeAnalytics({
      ctx: inWorkspace(gw, tenant.workspaceId),
      input: { from: gw.now.value, to: gw.now.value + 1, granularity: 'hour' },
    });
    gw.now.advance(3_600_000);
    expect(txn.body.costMicros).toBe(analytics.cost.totalMicros);
    return analytics.cost.byAgent[0]?.costMicros;
  };

  it('the overview reuses recent analytics until a new transaction or 30 s (recentAnalytics)', async () => {
    const ctx = inWorkspace(gw, tenant.workspaceId);
    const input = {
      from: gw.now.value - 86_400_000,
      to: gw.now.value + 3_600_000,
      granularity: 'hour' as const,
    };
    const first = await recentAnalytics({ ctx, input });
    const again = await recentAnalytics({ ctx, input });
    expect(again.analytics).toBe(first.analytics);
    // New traffic: computed afresh, with it.
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request: { sku: 'pen', quantity: 1, amount_cents: 300, n: Math.random() } },
    });
    expect(res.status).toBe(200);
    const fresh = await recentAnalytics({ ctx, input });
    expect(fresh.analytics).not.toBe(first.analytics);
    expect(fresh.analytics.decisions.decided).toBe(first.analytics.decisions.decided + 1);
    // Nothing new, but 30 s later: computed afresh too.
    gw.now.advance(30_000);
    const later = await recentAnalytics({ ctx, input });
    expect(later.analytics).not.toBe(fresh.analytics);
    expect(later.analytics).toEqual(fresh.analytics);
  });

  it('starts at zero: every admission snapshots a price of 0', async () => {
    expect((await call(gw, 'GET', '/v1/pricing', { key: tenant.adminToken })).body).toEqual({
      evaluationPriceMicros: 0,
      agents: {},
    });
    expect(await lastCost()).toBe(0);
  });

  it('replaces the prices, audits the change, and the next execute snapshots them', async () => {
    const put = await call(gw, 'PUT', '/v1/pricing', {
      key: tenant.adminToken,
      body: { evaluationPriceMicros: 700, agents: { buyer: 1234, other: 5 } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ evaluationPriceMicros: 700, agents: { buyer: 1234, other: 5 } });
    expect(await lastCost()).toBe(1234);
    // The agent's own price removed: the default applies.
    await call(gw, 'PUT', '/v1/pricing', { key: tenant.adminToken, body: { evaluationPriceMicros: 700 } });
    expect(await lastCost()).toBe(700);
    const audit = await call(gw, 'GET', '/v1/audit?action=pricing.updated', { key: tenant.adminToken });
    const events = audit.body.events as { action: string; data: { after: unknown } }[];
    expect(events.map((e) => e.data.after)).toEqual([
      { evaluationPriceMicros: 700, agents: {} },
      { evaluationPriceMicros: 700, agents: { buyer: 1234, other: 5 } },
    ]);
  });

  it('serves prices from the config cache: no query while the config version holds, a new price after a change', async () => {
    const cache = gw.deps.cache;
    /** A connection that refuses every statement: a cache hit must not need one. */
    const refusing: Conn = {
      dialect,
      all: () => Promise.reject(new Error('queried')),
      get: () => Promise.reject(new Error('queried')),
      run: () => Promise.reject(new Error('queried')),
    };
    const version = await cache.current(gw.db.reader);
    await cache.evaluationPrice(gw.db.reader, version, tenant.workspaceId, 'buyer');
    // A plain number (nothing awaited on the execute path), read from memory.
    expect(cache.evaluationPrice(refusing, version, tenant.workspaceId, 'buyer')).toBe(700);
    expect(cache.evaluationPrice(refusing, version, tenant.workspaceId, 'someone-else')).toBe(700);
    await call(gw, 'PUT', '/v1/pricing', {
      key: tenant.adminToken,
      body: { evaluationPriceMicros: 700, agents: { buyer: 9 } },
    });
    const next = await cache.current(gw.db.reader);
    expect(next).toBeGreaterThan(version);
    expect(await cache.evaluationPrice(gw.db.reader, next, tenant.workspaceId, 'buyer')).toBe(9);
    await call(gw, 'PUT', '/v1/pricing', { key: tenant.adminToken, body: { evaluationPriceMicros: 700 } });
  });

  it('lets developers read and only admins change (403), and refuses bad prices (400)', async () => {
    expect((await call(gw, 'GET', '/v1/pricing', { key: tokens.developer })).status).toBe(200);
    expectError(await call(gw, 'GET', '/v1/pricing', { key: tokens.approver }), 403, 'FORBIDDEN');
    for (const token of [tokens.developer, tokens.approver]) {
      expectError(
        await call(gw, 'PUT', '/v1/pricing', { key: token, body: { evaluationPriceMicros: 1 } }),
        403,
        'FORBIDDEN',
      );
    }
    expectError(await call(gw, 'GET', '/v1/pricing', { key: tenant.agentKey }), 401, 'UNAUTHORIZED');
    for (const body of [
      {},
      { evaluationPriceMicros: -1 },
      { evaluationPriceMicros: 1.5 },
      { evaluationPriceMicros: 1, agents: { buyer: 'ten' } },
      { evaluationPriceMicros: 1, extra: true },
    ]) {
      expectError(
        await call(gw, 'PUT', '/v1/pricing', { key: tenant.adminToken, body }),
        400,
        'VALIDATION_ERROR',
      );
    }
    expect(
      (await call(gw, 'GET', '/v1/pricing', { key: tenant.adminToken })).body.evaluationPriceMicros,
    ).toBe(700);
  });
});
