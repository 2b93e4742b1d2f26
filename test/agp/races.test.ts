import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// Races over real sockets against the real store of each dialect: the invariants must hold however the
// requests interleave (DESIGN §8).
describe.each(DIALECTS)('races on the %s store', (dialect) => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  let shop: string;
  let server: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    // A slow-ish business, so concurrent requests overlap while the first is in flight.
    upstream = await startUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'succeeded', data: { ok: true } }));
      }, 50);
    });
    gw = await startTestGateway({ env: { AGENR_EXECUTE_POLICY: 'confirm' }, realClock: true, dialect });
    tenant = await createTenant(gw);
    shop = (await registerHttpBusiness(gw, upstream.url)).id;
    server = await listen(gw);
  });
  afterAll(async () => {
    await server.close();
    await gw.dispose();
    await upstream.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.agentKey}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };

  it('one token, 50 concurrent executes: exactly one admitted and one upstream call', async () => {
    const body = { businessId: shop, request: { sku: 'race', amount_cents: 10 } };
    const prepared = await call(gw, 'POST', '/agp/execute/prepare', { key: tenant.agentKey, body });
    const token = prepared.body.confirmationToken as string;
    const before = upstream.requests.length;

    const results = await Promise.all(
      Array.from({ length: 50 }, () => post('/agp/execute', body, { 'x-confirmation-token': token })),
    );

    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 403);
    expect(admitted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const r of refused)
      expect(r.body).toMatchObject({ code: 'CONFIRMATION_INVALID', error: 'Invalid confirmation token.' });
    expect(upstream.requests.length - before).toBe(1);
  });

  it('one idempotency key, 20 concurrent identical executes: one execution, the rest replay or wait', async () => {
    const body = { businessId: shop, request: { sku: 'idem-race', amount_cents: 10 } };
    const prepared = await call(gw, 'POST', '/agp/execute/prepare', { key: tenant.agentKey, body });
    const token = prepared.body.confirmationToken as string;
    const before = upstream.requests.length;

    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        post('/agp/execute', body, { 'x-confirmation-token': token, 'idempotency-key': 'race-key-1' }),
      ),
    );

    expect(upstream.requests.length - before).toBe(1);
    const ok = results.filter((r) => r.status === 200);
    const inProgress = results.filter((r) => r.status === 409);
    expect(ok.length + inProgress.length).toBe(20);
    expect(new Set(ok.map((r) => r.body.transactionId)).size).toBe(1);
    for (const r of inProgress) expect(r.body.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    // Once the first finished, a retry replays it.
    const replay = await post('/agp/execute', body, { 'idempotency-key': 'race-key-1' });
    expect(replay.status).toBe(200);
    expect(replay.body.transactionId).toBe(ok[0]?.body.transactionId);
    expect(upstream.requests.length - before).toBe(1);
  });
});
