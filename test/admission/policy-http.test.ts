import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { releaseDue } from '../../gateway/services/execute/index.ts';
import {
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

const stage0 = {
  stage_index: 0,
  role: 'approver',
  tier: 'standard',
  quorum: 1,
  approval_timeout_seconds: 3600,
  on_approval_timeout: 'reject',
};

describe('policies decide every execute (DESIGN §6)', () => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway();
    // 2026-11-24 is a Tuesday; noon UTC.
    await registerHttpBusiness(gw, upstream.url, 'casino', 'gambling');
    await registerHttpBusiness(gw, upstream.url, 'grocer', 'food');
    await registerHttpBusiness(gw, upstream.url, 'acme-travel', 'travel');
    await registerHttpBusiness(gw, upstream.url, 'newshop', 'retail');
  });
  // Limits count every execute of the workspace (DESIGN §6): each case gets a workspace of its own.
  beforeEach(async () => {
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const putPolicy = (name: string, document: unknown) =>
    call(gw, 'PUT', `/v1/policies/${name}`, { key: tenant.adminToken, body: document });
  const keyFor = async (policy: string, agentId = `agent-${policy}`) => {
    const res = await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId, policy } });
    expect(res.status).toBe(201);
    return res.body.key as string;
  };
  const execute = (key: string, businessId: string, request: Record<string, unknown>) =>
    call(gw, 'POST', '/agp/execute', { key, body: { businessId, request } });

  it('with no policy at all, every execute is auto-approved', async () => {
    const res = await execute(tenant.agentKey, 'casino', { amount_cents: 999_999 });
    expect(res.status).toBe(200);
  });

  it('stores versions: a new one for new content, the same one for identical content', async () => {
    const doc = { categories: { block: ['gambling'] } };
    const first = await putPolicy('versions', doc);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'versions', version: 1 });
    expect(String(first.body.versionId)).toMatch(/^pv_/);
    const same = await putPolicy('versions', { categories: { block: ['gambling'] } });
    expect(same.status).toBe(200);
    expect(same.body.versionId).toBe(first.body.versionId);
    const second = await putPolicy('versions', { categories: { block: ['gambling', 'weapons'] } });
    expect(second.body.version).toBe(2);
    const versions = await call(gw, 'GET', '/v1/policies/versions/versions', { key: tenant.adminToken });
    expect((versions.body.versions as { version: number }[]).map((v) => v.version)).toEqual([2, 1]);
    const current = await call(gw, 'GET', '/v1/policies/versions', { key: tenant.adminToken });
    expect(current.body).toMatchObject({
      version: 2,
      document: { categories: { block: ['gambling', 'weapons'] } },
    });
    const list = await call(gw, 'GET', '/v1/policies', { key: tenant.adminToken });
    expect(list.body.policies).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'versions', version: 2 })]),
    );
  });

  it('refuses an invalid document with the JSON path of each problem, and stores nothing', async () => {
    const res = await putPolicy('broken', {
      categories: { allow: ['food'], block: ['gambling'] },
      rules: [
        {
          id: 'r',
          priority: 1,
          conditions: [{ field: 'x', op: 'resembles', value: 1 }],
          action: 'auto_approve',
        },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    const paths = (res.body.details as { path: string }[]).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['categories', 'rules.0.conditions.0.op']));
    expect((await call(gw, 'GET', '/v1/policies/broken', { key: tenant.adminToken })).status).toBe(404);
  });

  it('only admins write policies', async () => {
    const dev = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'dev@acme.test', role: 'developer' },
    });
    const res = await call(gw, 'PUT', '/v1/policies/default', { key: dev.body.token as string, body: {} });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });

  it('a blocked category is refused with 403 POLICY_REJECTED and the failing check', async () => {
    await putPolicy('no-gambling', { categories: { block: ['gambling'] } });
    const key = await keyFor('no-gambling');
    const calls = upstream.requests.length;
    const res = await execute(key, 'casino', { amount_cents: 100 });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('POLICY_REJECTED');
    const details = res.body.details as {
      checks: { control: string; result: string }[];
      transactionId: string;
    };
    expect(details.checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ control: 'category', result: 'fail' })]),
    );
    expect(upstream.requests.length).toBe(calls);
    // Recorded with the decision and the policy version that refused it.
    const txn = await call(gw, 'GET', `/v1/transactions/${details.transactionId}`, {
      key: tenant.adminToken,
    });
    expect(txn.body).toMatchObject({
      status: 'rejected',
      policy: 'no-gambling',
      decision: { outcome: 'reject', policy: { name: 'no-gambling', version: 1 } },
    });
    expect((await execute(key, 'grocer', { amount_cents: 100 })).status).toBe(200);
  });

  it('a rule rejects with its id and reason', async () => {
    await putPolicy('rules', {
      rules: [
        {
          id: 'no-gift-cards',
          priority: 10,
          conditions: [{ field: 'item', op: 'contains', value: 'gift card' }],
          action: 'reject',
          reason: 'Gift cards are not allowed',
        },
      ],
    });
    const key = await keyFor('rules');
    const res = await execute(key, 'grocer', { item: 'a gift card', amount_cents: 100 });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      code: 'POLICY_REJECTED',
      error: 'Gift cards are not allowed',
      details: { ruleId: 'no-gift-cards', reason: 'Gift cards are not allowed' },
    });
  });

  it('a per-transaction cap refuses a larger amount and admits one at the cap', async () => {
    await putPolicy('cap', {
      spending_limits: [{ id: 'per-order', amount: 5000, interval: 'per_transaction' }],
    });
    const key = await keyFor('cap');
    expect((await execute(key, 'grocer', { amount_cents: 5001 })).status).toBe(403);
    expect((await execute(key, 'grocer', { amount_cents: 5000 })).status).toBe(200);
  });

  it('first time with a business asks for approval, with its stages, and parks the request', async () => {
    await putPolicy('first-time', {
      confirmation: { first_time_business: true },
      routing_stages: [stage0],
    });
    const key = await keyFor('first-time');
    const calls = upstream.requests.length;
    const res = await execute(key, 'newshop', { amount_cents: 100 });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      status: 'pending_approval',
      approval: {
        stages: [{ index: 0, role: 'approver', tier: 'standard', status: 'pending' }],
        expiresAt: new Date(gw.now.value + 3600_000).toISOString(),
      },
    });
    expect(String((res.body.approval as { id: string }).id)).toMatch(/^apr_/);
    expect(upstream.requests.length).toBe(calls);
    const status = await call(gw, 'GET', `/agp/status/${res.body.transactionId}`, { key });
    expect(status.body.status).toBe('pending_approval');
  });

  it('a business override raises a limit for that business only', async () => {
    await putPolicy('override', {
      spending_limits: [{ id: 'daily', amount: 1000, interval: 'day', window: 'rolling' }],
      business_overrides: {
        'acme-travel': {
          spending_limits: [{ id: 'daily', amount: 150000, interval: 'day', window: 'rolling' }],
        },
      },
    });
    const key = await keyFor('override');
    expect((await execute(key, 'grocer', { amount_cents: 2000 })).status).toBe(403);
    expect((await execute(key, 'acme-travel', { amount_cents: 2000 })).status).toBe(200);
  });

  it('a time window that rejects outside its hours', async () => {
    await putPolicy('office-hours', {
      timezone: 'Europe/Berlin',
      time_windows: {
        allow: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '12:00' }],
        outside: 'reject',
      },
    });
    const key = await keyFor('office-hours');
    // 12:00 UTC is 13:00 in Berlin: outside.
    const res = await execute(key, 'grocer', { amount_cents: 100 });
    expect(res.status).toBe(403);
    expect((res.body.details as { checks: { control: string; result: string }[] }).checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ control: 'time_window', result: 'fail' })]),
    );
  });

  it('a time window that queues, then releases and executes when it opens', async () => {
    await putPolicy('night-queue', {
      time_windows: { allow: [{ days: ['tue'], start: '13:00', end: '14:00' }], outside: 'queue' },
    });
    const key = await keyFor('night-queue');
    const calls = upstream.requests.length;
    const res = await execute(key, 'grocer', { amount_cents: 300 });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', releaseAt: '2026-11-24T13:00:00.000Z' });
    expect(await releaseDue(gw.deps)).toBe(0);
    expect(upstream.requests.length).toBe(calls);

    gw.now.advance(3600_000);
    try {
      expect(await releaseDue(gw.deps)).toBe(1);
      expect(upstream.requests.length).toBe(calls + 1);
      const status = await call(gw, 'GET', `/agp/status/${res.body.transactionId}`, { key });
      expect(status.body.status).toBe('succeeded');
      // Released once: a second run finds nothing.
      expect(await releaseDue(gw.deps)).toBe(0);
    } finally {
      gw.now.advance(-3600_000);
    }
  });

  it('under a policy, an unreadable amount is refused rather than passing the limits', async () => {
    await putPolicy('amounts', {
      spending_limits: [{ id: 'per-order', amount: 1000, interval: 'per_transaction' }],
    });
    const key = await keyFor('amounts');
    for (const amount_cents of ['abc', -5, 12.5]) {
      const res = await execute(key, 'grocer', { amount_cents });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: [{ path: 'request.amount_cents' }],
      });
    }
    expect((await execute(key, 'grocer', { amount_cents: '900' })).status).toBe(200);
  });

  it('a request in a currency no limit is kept in is refused, not waved past the limits', async () => {
    await putPolicy('usd-only', { spending_limits: [{ id: 'daily', amount: 1000, interval: 'day' }] });
    const key = await keyFor('usd-only');
    const res = await execute(key, 'grocer', { amount_cents: 999_999, currency: 'EUR' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      code: 'POLICY_REJECTED',
      details: { ruleId: 'spending_limit:currency' },
    });
    expect((await execute(key, 'grocer', { amount_cents: 500, currency: 'usd' })).status).toBe(200);
  });

  it('simulate explains the decision without side effects', async () => {
    await putPolicy('sim', {
      spending_limits: [{ id: 'per-order', amount: 1000, interval: 'per_transaction' }],
      rules: [
        {
          id: 'travel-ok',
          priority: 1,
          conditions: [{ context: 'business.category', op: 'eq', value: 'travel' }],
          action: 'auto_approve',
        },
      ],
    });
    const before = await call(gw, 'GET', '/v1/transactions?limit=200', { key: tenant.adminToken });
    const res = await call(gw, 'POST', '/v1/policies/sim/simulate', {
      key: tenant.adminToken,
      body: { businessId: 'acme-travel', request: { amount_cents: 5000 } },
    });
    expect(res.status).toBe(200);
    const decision = res.body.decision as Record<string, unknown>;
    expect(decision).toMatchObject({
      outcome: 'reject',
      policy: { name: 'sim', version: 1 },
      checks: expect.arrayContaining([
        expect.objectContaining({ control: 'spending_limit', id: 'per-order', result: 'fail' }),
      ]),
    });
    const after = await call(gw, 'GET', '/v1/transactions?limit=200', { key: tenant.adminToken });
    expect(after.body.transactions).toEqual(before.body.transactions);
    const allowed = await call(gw, 'POST', '/v1/policies/sim/simulate', {
      key: tenant.adminToken,
      body: { businessId: 'acme-travel', request: { amount_cents: 500 } },
    });
    expect(allowed.body.decision).toMatchObject({ outcome: 'auto_approve', ruleId: 'travel-ok' });
  });

  it('policy changes are audit events with the member who made them', async () => {
    await putPolicy('sim', { default_action: 'auto_approve' });
    await putPolicy('versions', { categories: { block: ['gambling'] } });
    await putPolicy('versions', { categories: { block: ['gambling'] } });
    await putPolicy('versions', { categories: { block: ['gambling', 'weapons'] } });
    const res = await call(gw, 'GET', '/v1/audit?limit=200', { key: tenant.adminToken });
    expect(res.status).toBe(200);
    const events = res.body.events as {
      action: string;
      target: string;
      actor: { type: string; id: string };
    }[];
    const simChange = events.find((e) => e.action === 'policy.changed' && e.target === 'sim');
    expect(simChange?.actor).toMatchObject({ type: 'member', id: expect.stringMatching(/^mem_/) });
    // Identical content made no new version and so no audit event.
    expect(events.filter((e) => e.action === 'policy.changed' && e.target === 'versions')).toHaveLength(2);
  });
});
