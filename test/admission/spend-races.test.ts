import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  listen,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

// Admission is atomic: no burst can spend past a limit (DESIGN §6, §8), on every dialect's real store.
describe.each(DIALECTS)('spend limits under concurrency (%s)', (dialect) => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  let server: { url: string; close: () => Promise<void> };
  let failNext = false;

  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => {
      setTimeout(() => {
        const status = failNext ? 500 : 200;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'succeeded', data: {} }));
      }, 20);
    });
    gw = await startTestGateway({ realClock: true, dialect });
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
    await registerHttpBusiness(gw, upstream.url, 'fancy', 'luxury');
    server = await listen(gw);
  });
  // Limits count every execute of the workspace (DESIGN §6): each case gets a workspace of its own.
  beforeEach(async () => {
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await server.close();
    await gw.dispose();
    await upstream.close();
  });

  const putPolicy = (name: string, document: unknown) =>
    call(gw, 'PUT', `/v1/policies/${name}`, { key: tenant.adminToken, body: document });
  const keyFor = async (policy: string) =>
    (await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId: `a-${policy}`, policy } }))
      .body.key as string;
  const execute = async (key: string, businessId: string, amount: number) => {
    const res = await request(`${server.url}/agp/execute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ businessId, request: { amount_cents: amount } }),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const limitsOf = async (policy: string) =>
    (
      await call(gw, 'GET', `/v1/transactions/summary?interval=day&policy=${policy}`, {
        key: tenant.adminToken,
      })
    ).body.limits as { id: string; used: number; reserved: number; remaining: number }[];

  it('daily limit 10,000: 100 concurrent executes of 1,000 → exactly 10 admitted and 10 upstream calls', async () => {
    await putPolicy('daily', { spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }] });
    const key = await keyFor('daily');
    const calls = upstream.requests.length;
    const results = await Promise.all(Array.from({ length: 100 }, () => execute(key, 'shop', 1000)));
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 403);
    expect(admitted).toHaveLength(10);
    expect(refused).toHaveLength(90);
    for (const r of refused) expect(r.body.code).toBe('POLICY_REJECTED');
    expect(upstream.requests.length - calls).toBe(10);
    expect(await limitsOf('daily')).toEqual([
      expect.objectContaining({ id: 'daily', used: 10_000, reserved: 0, remaining: 0 }),
    ]);
  });

  it('parked requests count as reserved: approvals and the limit share one budget', async () => {
    await putPolicy('parked', {
      spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }],
      confirmation: { above_amount: 1500 },
      routing_stages: [
        {
          stage_index: 0,
          role: 'approver',
          quorum: 1,
          approval_timeout_seconds: 3600,
          on_approval_timeout: 'reject',
        },
      ],
    });
    const key = await keyFor('parked');
    const calls = upstream.requests.length;
    // 4 × 2,000 need approval (parked, reserved), 20 × 1,000 race for the rest of the budget.
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => execute(key, 'shop', 2000)),
      ...Array.from({ length: 20 }, () => execute(key, 'shop', 1000)),
    ]);
    const parked = results.filter((r) => r.status === 202);
    const admitted = results.filter((r) => r.status === 200);
    const parkedAmount = parked.length * 2000;
    expect(parkedAmount + admitted.length * 1000).toBeLessThanOrEqual(10_000);
    expect(parkedAmount + admitted.length * 1000).toBe(10_000);
    expect(upstream.requests.length - calls).toBe(admitted.length);
    expect(await limitsOf('parked')).toEqual([
      expect.objectContaining({
        id: 'daily',
        used: admitted.length * 1000,
        reserved: parkedAmount,
        remaining: 0,
      }),
    ]);
  });

  it('a failed execute releases its reservation; a limit scoped to a category counts only it', async () => {
    await putPolicy('scoped', {
      spending_limits: [{ id: 'luxury', amount: 3000, interval: 'day', categories: ['luxury'] }],
    });
    const key = await keyFor('scoped');
    failNext = true;
    try {
      expect((await execute(key, 'fancy', 3000)).status).toBe(502);
    } finally {
      failNext = false;
    }
    expect(await limitsOf('scoped')).toEqual([
      expect.objectContaining({ used: 0, reserved: 0, remaining: 3000 }),
    ]);
    expect((await execute(key, 'fancy', 3000)).status).toBe(200);
    expect((await execute(key, 'fancy', 1)).status).toBe(403);
    // Another category is not counted against the luxury limit.
    expect((await execute(key, 'shop', 50_000)).status).toBe(200);
  });

  it('spend made before any policy existed counts against a limit added later', async () => {
    const key = await keyFor('default');
    // No policy yet: nothing is refused, but every amount is on the ledger.
    for (const amount of [4000, 2000]) expect((await execute(key, 'shop', amount)).status).toBe(200);
    await putPolicy('default', { spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }] });
    expect(await limitsOf('default')).toEqual([
      expect.objectContaining({ id: 'daily', used: 6000, reserved: 0, remaining: 4000 }),
    ]);
    const over = await execute(key, 'shop', 4001);
    expect(over.status).toBe(403);
    expect(over.body.code).toBe('POLICY_REJECTED');
    expect((await execute(key, 'shop', 4000)).status).toBe(200);
    expect((await execute(key, 'shop', 1)).status).toBe(403);
  });

  it('one budget per workspace, whichever policy governs each key', async () => {
    await putPolicy('a', { spending_limits: [{ id: 'daily', amount: 5000, interval: 'day' }] });
    await putPolicy('b', { spending_limits: [{ id: 'daily', amount: 5000, interval: 'day' }] });
    const [a, b] = [await keyFor('a'), await keyFor('b')];
    expect((await execute(a, 'shop', 3000)).status).toBe(200);
    // Policy b's limit counts what the key under policy a spent.
    expect((await execute(b, 'shop', 3000)).status).toBe(403);
    expect((await execute(b, 'shop', 2000)).status).toBe(200);
  });
});
