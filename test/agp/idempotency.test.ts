import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.ts';
import {
  addAgentKey,
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

describe.each(DIALECTS)('Idempotency-Key (DESIGN §4) on %s', (dialect) => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  let shop: string;
  let answer = 0;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      answer += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'succeeded',
          data: { answer, key: req.headers['idempotency-key'] ?? null },
        }),
      );
    });
    gw = await startTestGateway({ env: { AGENR_EXECUTE_POLICY: 'confirm' }, dialect });
    tenant = await createTenant(gw);
    shop = (await registerHttpBusiness(gw, upstream.url)).id;
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const prepare = async (body: unknown, key = tenant.agentKey) =>
    (await call(gw, 'POST', '/agp/execute/prepare', { key, body })).body.confirmationToken as string;
  const execute = (body: unknown, headers: Record<string, string>, key = tenant.agentKey) =>
    call(gw, 'POST', '/agp/execute', { key, body, headers });

  it('replays the first answer without a token and without calling the business again', async () => {
    const body = { businessId: shop, request: { sku: 'a', amount_cents: 5 } };
    const first = await execute(body, {
      'X-Confirmation-Token': await prepare(body),
      'Idempotency-Key': 'k-1',
    });
    expect(first.status).toBe(200);
    const calls = upstream.requests.length;

    const again = await execute({ request: body.request, businessId: shop }, { 'Idempotency-Key': 'k-1' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(upstream.requests.length).toBe(calls);
  });

  it('forwards the key to the business so it can deduplicate too', async () => {
    const body = { businessId: shop, request: { sku: 'b' } };
    const res = await execute(body, {
      'X-Confirmation-Token': await prepare(body),
      'Idempotency-Key': 'k-forward',
    });
    expect((res.body.data as { key: string }).key).toBe('k-forward');
  });

  it('the same key with another body is 422 and executes nothing', async () => {
    const body = { businessId: shop, request: { sku: 'c' } };
    await execute(body, { 'X-Confirmation-Token': await prepare(body), 'Idempotency-Key': 'k-2' });
    const calls = upstream.requests.length;
    const other = { businessId: shop, request: { sku: 'c', quantity: 2 } };
    const res = await execute(other, {
      'X-Confirmation-Token': await prepare(other),
      'Idempotency-Key': 'k-2',
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(upstream.requests.length).toBe(calls);
  });

  it('is scoped to the agent key: another key may use the same value', async () => {
    const other = await addAgentKey(gw, tenant, 'idem-other');
    const body = { businessId: shop, request: { sku: 'd' } };
    const a = await execute(body, {
      'X-Confirmation-Token': await prepare(body),
      'Idempotency-Key': 'shared',
    });
    const b = await execute(
      body,
      { 'X-Confirmation-Token': await prepare(body, other), 'Idempotency-Key': 'shared' },
      other,
    );
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body.transactionId).not.toBe(a.body.transactionId);
  });

  it('a refusal before admission is not remembered: the retry with a token executes', async () => {
    const body = { businessId: shop, request: { sku: 'e' } };
    const refused = await execute(body, { 'Idempotency-Key': 'k-3' });
    expect(refused.body.code).toBe('CONFIRMATION_REQUIRED');
    const ok = await execute(body, { 'X-Confirmation-Token': await prepare(body), 'Idempotency-Key': 'k-3' });
    expect(ok.status).toBe(200);
  });

  it('keys live 24 hours', async () => {
    const body = { businessId: shop, request: { sku: 'f' } };
    const first = await execute(body, {
      'X-Confirmation-Token': await prepare(body),
      'Idempotency-Key': 'k-ttl',
    });
    gw.now.advance(24 * 60 * 60 * 1000 + 1);
    try {
      const later = await execute(body, {
        'X-Confirmation-Token': await prepare(body),
        'Idempotency-Key': 'k-ttl',
      });
      expect(later.status).toBe(200);
      expect(later.body.transactionId).not.toBe(first.body.transactionId);
    } finally {
      gw.now.advance(-(24 * 60 * 60 * 1000 + 1));
    }
  });

  it('an over-long key is a validation error', async () => {
    const res = await execute({ businessId: shop, request: {} }, { 'Idempotency-Key': 'x'.repeat(256) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
  });
});
