import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from '../metrics/exposition.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

// Issue 18 item 10a: 300 concurrent executes to a slow business opened 300 connections to it. Now at
// most ADAPTER_MAX_CONCURRENCY calls are in flight per business; the others wait up to
// ADAPTER_QUEUE_TIMEOUT_MS for a slot, then get 503 ADAPTER_UNAVAILABLE with Retry-After, recorded
// like a refused connection (nothing was sent: failed, reservation voided).
const CAP = 4;
const QUEUE_TIMEOUT_MS = 2_000;

/**
 * A slow business on port 0 that counts what the gateway does to it: sockets open at once (TCP, as
 * the server sees them) and requests in progress at once. `hold` keeps answers back until `release`.
 */
async function slowBusiness() {
  const state = { open: 0, mostOpen: 0, inProgress: 0, mostInProgress: 0, requests: 0 };
  let delayMs = 50;
  let hold = false;
  const held: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests += 1;
      state.inProgress += 1;
      state.mostInProgress = Math.max(state.mostInProgress, state.inProgress);
      const answer = () => {
        state.inProgress -= 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'succeeded', data: { ok: true } }));
      };
      if (hold) held.push(answer);
      else setTimeout(answer, delayMs);
    });
  });
  server.on('connection', (socket) => {
    state.open += 1;
    state.mostOpen = Math.max(state.mostOpen, state.open);
    socket.on('close', () => {
      state.open -= 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    /** Starts counting afresh (sockets already open count as open). */
    reset(options: { delayMs?: number; hold?: boolean }) {
      delayMs = options.delayMs ?? delayMs;
      hold = options.hold ?? false;
      state.mostOpen = state.open;
      state.mostInProgress = state.inProgress;
      state.requests = 0;
    },
    release() {
      hold = false;
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.each(DIALECTS)('concurrency cap per business (%s)', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let business: Awaited<ReturnType<typeof slowBusiness>>;
  let businessKey: string;

  beforeAll(async () => {
    business = await slowBusiness();
    gw = await startTestGateway({
      dialect,
      env: {
        ADAPTER_MAX_CONCURRENCY: String(CAP),
        ADAPTER_QUEUE_TIMEOUT_MS: String(QUEUE_TIMEOUT_MS),
      },
    });
    ({ businessKey } = await registerHttpBusiness(gw, business.url, 'slow'));
  });
  beforeEach(async () => {
    tenant = await createTenant(gw);
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: tenant.adminToken,
      body: { spending_limits: [{ id: 'daily', amount: 1_000_000, interval: 'day' }] },
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => {
    await gw.dispose();
    await business.close();
  });

  const execute = (i: number, amount = 100) =>
    call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'slow', request: { amount_cents: amount, i } },
      headers: { 'Idempotency-Key': `k-${i}` },
    });
  const daily = async () => {
    const res = await call(gw, 'GET', '/v1/transactions/summary', { key: tenant.adminToken });
    return (res.body.limits as { used: number; reserved: number }[])[0];
  };

  it('60 concurrent executes: never more than the cap open or in flight; the excess waits, then succeeds', async () => {
    business.reset({ delayMs: 50 });
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => execute(i)));
    expect(answers.map((a) => a.status)).toEqual(Array(60).fill(200));
    expect(business.state.requests).toBe(60);
    expect(business.state.mostInProgress).toBe(CAP);
    expect(business.state.mostOpen).toBeLessThanOrEqual(CAP);
    expect(gw.deps.bulkheads.view('slow')).toEqual({ active: 0, waiting: 0 });
    expect(await daily()).toMatchObject({ used: 6_000, reserved: 0 });
  });

  it('past the queue timeout: 503 ADAPTER_UNAVAILABLE with Retry-After, failed, spend voided', async () => {
    business.reset({ hold: true });
    const pending = Array.from({ length: 20 }, (_, i) => execute(100 + i, 250));
    // The business holds CAP calls; the other 16 wait QUEUE_TIMEOUT_MS, then are refused.
    const settled: Awaited<ReturnType<typeof execute>>[] = [];
    for (const p of pending) void p.then((res) => settled.push(res));
    for (let waited = 0; settled.length < 16 && waited < QUEUE_TIMEOUT_MS * 3; waited += 25) await sleep(25);
    expect(settled).toHaveLength(16);
    expect(business.state.requests).toBe(CAP);
    expect(business.state.mostOpen).toBeLessThanOrEqual(CAP);
    for (const res of settled) {
      expect(res.status).toBe(503);
      expect(res.headers.get('Retry-After')).toBe(String(QUEUE_TIMEOUT_MS / 1000));
      expect(res.body).toMatchObject({ code: 'ADAPTER_UNAVAILABLE', error: expect.stringMatching(/busy/) });
      const details = res.body.details as { transactionId: string; status?: string };
      expect(details.status).toBeUndefined(); // failed, not unknown: nothing was sent
      const txn = await call(gw, 'GET', `/agp/status/${details.transactionId}`, { key: tenant.agentKey });
      expect(txn.body).toMatchObject({ status: 'failed', error: { code: 'ADAPTER_UNAVAILABLE' } });
    }
    // Only the calls in flight hold a reservation; the refused ones were voided.
    expect(await daily()).toMatchObject({ used: 0, reserved: CAP * 250 });

    business.release();
    const answers = await Promise.all(pending);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(CAP);
    expect(await daily()).toMatchObject({ used: CAP * 250, reserved: 0 });
    expect(gw.deps.bulkheads.view('slow')).toEqual({ active: 0, waiting: 0 });

    const samples = parseExposition(await (await gw.app.request('/metrics')).text());
    expect(sampleValue(samples, 'warden_adapter_queue_rejections_total', { business: 'slow' })).toBe(16);
  });

  it("a business's own lower cap (PUT /v1/business/adapter maxConcurrency) holds too", async () => {
    const tooMany = await call(gw, 'PUT', '/v1/business/adapter', {
      key: businessKey,
      body: { type: 'http', baseUrl: business.url, maxConcurrency: CAP + 1 },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: [{ path: 'maxConcurrency', message: `at most ADAPTER_MAX_CONCURRENCY (${CAP})` }],
    });
    const put = await call(gw, 'PUT', '/v1/business/adapter', {
      key: businessKey,
      body: { type: 'http', baseUrl: business.url, maxConcurrency: 2 },
    });
    expect(put.status).toBe(200);
    expect(put.body.adapter).toMatchObject({ maxConcurrency: 2 });

    business.reset({ delayMs: 50 });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => execute(200 + i)));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(business.state.mostInProgress).toBe(2);
  });
});
