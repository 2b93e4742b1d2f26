import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { createGateway, type Gateway } from '../../gateway/app.ts';
import { sql } from '../../gateway/db/types.ts';
import { deliverDue, type Senders } from '../../gateway/services/notifications/index.ts';
import { DIALECTS, freshDatabase, type TestDatabase } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  TEST_SECRETS_KEY,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { parseExposition, type Sample, sampleValue } from './exposition.ts';

/** GET /metrics as Prometheus would: status, content type and the parsed samples. */
async function scrape(gw: Gateway, token?: string) {
  const res = await gw.app.request('/metrics', {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const text = await res.text();
  return { res, text, samples: res.status === 200 ? parseExposition(text) : [] };
}

const stage = { stage_index: 0, role: 'admin', tier: 'standard', quorum: 1, approval_timeout_seconds: 3600 };

describe.each(DIALECTS)('GET /metrics after known traffic (%s)', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    await registerEcho(gw);
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('counts requests by route pattern and status, and times them', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await call(gw, 'GET', `/agp/status/txn_does_not_exist_${i}`, { key: tenant.agentKey });
      expect(res.status).toBe(404);
    }
    for (let i = 0; i < 2; i++) {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: 'echo', request: { sku: 'coffee', amount_cents: 90 } },
      });
      expect(res.status).toBe(200);
    }
    expect((await call(gw, 'GET', '/no/such/route')).status).toBe(404);
    expect((await call(gw, 'POST', '/agp/execute', { body: {} })).status).toBe(401);

    const { res, text, samples } = await scrape(gw);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const requests = samples.filter((s) => s.name === 'warden_http_requests_total');
    // Exactly what was sent, and nothing else (this gateway served no other request yet).
    expect(requests.map((s) => [s.labels, s.value]).sort(byJson)).toEqual(
      [
        [{ method: 'GET', route: '/agp/status/:transactionId', status: '404' }, 3],
        [{ method: 'POST', route: '/agp/execute', status: '200' }, 2],
        [{ method: 'POST', route: '/agp/execute', status: '401' }, 1],
        [{ method: 'GET', route: 'unmatched', status: '404' }, 1],
      ].sort(byJson),
    );
    // Raw paths never become labels.
    expect(text).not.toContain('txn_does_not_exist');
    expect(text).not.toContain('/no/such/route');

    const duration = 'warden_http_request_duration_seconds';
    const status = { method: 'GET', route: '/agp/status/:transactionId' };
    const execute = { method: 'POST', route: '/agp/execute' };
    expect(sampleValue(samples, `${duration}_count`, status)).toBe(3);
    expect(sampleValue(samples, `${duration}_count`, execute)).toBe(3);
    expect(sampleValue(samples, `${duration}_bucket`, { ...execute, le: '+Inf' })).toBe(3);
    expect(sampleValue(samples, `${duration}_sum`, execute)).toBeGreaterThan(0);

    // The two executes: decided (no policy: auto-approved) and forwarded to the echo business.
    expect(sampleValue(samples, 'warden_decisions_total', { outcome: 'auto_approve' })).toBe(2);
    const adapter = 'warden_adapter_request_duration_seconds';
    expect(sampleValue(samples, `${adapter}_count`, { business: 'echo', outcome: 'success' })).toBe(2);
    expect(
      sampleValue(samples, `${adapter}_bucket`, { business: 'echo', outcome: 'success', le: '+Inf' }),
    ).toBe(2);

    // The scrape itself is counted once it has been answered.
    const again = await scrape(gw);
    expect(
      sampleValue(again.samples, 'warden_http_requests_total', {
        method: 'GET',
        route: '/metrics',
        status: '200',
      }),
    ).toBe(1);
  });

  it('counts decisions by outcome; the approvals gauge equals the approvals waiting; the outbox backlog drains', async () => {
    const before = (await scrape(gw)).samples;
    const put = await call(gw, 'PUT', '/v1/policies/gated', {
      key: tenant.adminToken,
      body: {
        spending_limits: [{ id: 'per-order', amount: 100_000, interval: 'per_transaction' }],
        confirmation: { above_amount: 1000 },
        routing_stages: [stage],
      },
    });
    expect(put.status).toBe(201);
    const key = await call(gw, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      body: { agentId: 'gated-agent', policy: 'gated' },
    });
    expect(key.status).toBe(201);
    const execute = (amount: number) =>
      call(gw, 'POST', '/agp/execute', {
        key: key.body.key as string,
        body: { businessId: 'echo', request: { sku: 'tv', amount_cents: amount } },
      });
    for (const amount of [5000, 6000, 7000]) expect((await execute(amount)).status).toBe(202);
    expect((await execute(500)).status).toBe(200);
    expect((await execute(200_000)).status).toBe(403);
    // An evaluation is decided by the same admission: it asks a person too.
    const evaluation = await call(gw, 'POST', '/v1/evaluate', {
      key: key.body.key as string,
      body: {
        policy_name: 'gated',
        context: { agent_id: 'gated-agent', payload_scope: { amount_cents: 9000 } },
      },
    });
    expect(evaluation).toMatchObject({ status: 200, body: { status: 'pending_human' } });

    const { samples } = await scrape(gw);
    const delta = (outcome: string) =>
      (sampleValue(samples, 'warden_decisions_total', { outcome }) ?? 0) -
      (sampleValue(before, 'warden_decisions_total', { outcome }) ?? 0);
    expect({
      approval: delta('approval'),
      auto_approve: delta('auto_approve'),
      reject: delta('reject'),
      queue: delta('queue'),
    }).toEqual({ approval: 4, auto_approve: 1, reject: 1, queue: 0 });
    expect(sampleValue(samples, 'warden_approvals_pending')).toBe(4);

    // Each approval emailed the workspace's admin through the outbox; nothing delivers it yet.
    const pendingOutbox = await gw.db.reader.get(
      sql("SELECT COUNT(*) FROM outbox WHERE status = 'pending'", (r) => Number(r[0])),
    );
    expect(pendingOutbox).toBeGreaterThanOrEqual(4);
    expect(sampleValue(samples, 'warden_outbox_backlog')).toBe(pendingOutbox);
    const none = async () => {};
    const delivered: Senders = {
      email: none,
      webhook: none,
      callback: none,
      slack: none,
      teams: none,
      policy_sync: none,
    };
    await deliverDue(gw.deps, delivered, { batch: 100 });
    expect(sampleValue((await scrape(gw)).samples, 'warden_outbox_backlog')).toBe(0);
  });
});

describe('METRICS_TOKEN', () => {
  let gw: TestGateway;
  const token = 'metrics-token-0123456789abcdef';
  beforeAll(async () => {
    gw = await startTestGateway({ env: { METRICS_TOKEN: token } });
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('a scrape without the token, or with another, is 401 in the error envelope', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong-token-0123456789abcdef' },
      { Authorization: `Bearer ${ADMIN_TOKEN}` },
    ];
    for (const headers of attempts) {
      const res = await call(gw, 'GET', '/metrics', { headers });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: 'A valid metrics token is required.',
        code: 'UNAUTHORIZED',
        requestId: res.headers.get('x-request-id'),
      });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('with the token it is 200, and the refusals were counted', async () => {
    const { res, samples } = await scrape(gw, token);
    expect(res.status).toBe(200);
    expect(
      sampleValue(samples, 'warden_http_requests_total', { method: 'GET', route: '/metrics', status: '401' }),
    ).toBe(3);
  });
});

describe('METRICS_ENABLED=false', () => {
  it('records nothing and does not serve /metrics', async () => {
    const gw = await startTestGateway({ env: { METRICS_ENABLED: 'false' } });
    try {
      expect((await call(gw, 'GET', '/health')).status).toBe(200);
      const res = await call(gw, 'GET', '/metrics');
      expect(res).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    } finally {
      await gw.dispose();
    }
  });
});

describe.each(DIALECTS)('a gateway that opens its own database (%s)', (dialect) => {
  let database: TestDatabase;
  let gw: Gateway;
  let samples: Sample[];

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      SECRETS_KEY: TEST_SECRETS_KEY,
      DATABASE_URL: database.url,
    });
    gw = await createGateway({ config, jobs: false });
    await registerEcho(gw);
    const tenant = await createTenant(gw);
    const executes = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        call(gw, 'POST', '/agp/execute', {
          key: tenant.agentKey,
          body: { businessId: 'echo', request: { sku: `s${i}`, amount_cents: 10 } },
        }),
      ),
    );
    expect(executes.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    samples = (await scrape(gw)).samples;
  });
  afterAll(async () => {
    await gw?.close();
    await database?.drop();
  });

  it('observes the size of every group commit', () => {
    const count = sampleValue(samples, 'warden_db_commit_batch_size_count') ?? 0;
    const sum = sampleValue(samples, 'warden_db_commit_batch_size_sum') ?? 0;
    // Five admissions and five outcomes at least (plus the tenant's setup), some sharing a commit.
    expect(count).toBeGreaterThan(0);
    expect(sum).toBeGreaterThanOrEqual(10);
    expect(sum).toBeGreaterThanOrEqual(count);
    expect(sampleValue(samples, 'warden_db_commit_batch_size_bucket', { le: '+Inf' })).toBe(count);
  });

  it('includes the event-loop delay and the default process metrics', () => {
    const names = new Set(samples.map((s) => s.name));
    for (const name of [
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(names, name).toContain(name);
    }
  });
});

const byJson = (a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
