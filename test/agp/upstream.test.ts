import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// The gateway in front of a real business on port 0 (DESIGN §7).
describe('forwarding to an http business', () => {
  let gw: TestGateway;
  let tenant: Tenant;
  let healthy: Upstream;
  let slow: Upstream;
  let refusing: Upstream;
  let downUrl: string;

  beforeAll(async () => {
    healthy = await startUpstream();
    slow = await startUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }, 1500);
    });
    refusing = await startUpstream((_req, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'out of stock' }));
    });
    const closed = await startUpstream();
    downUrl = closed.url;
    await closed.close();

    gw = await startTestGateway({ env: { ADAPTER_TIMEOUT_MS: '300' } });
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await gw.dispose();
    await Promise.all([healthy.close(), slow.close(), refusing.close()]);
  });

  const execute = (businessId: string, headers: Record<string, string> = {}) =>
    call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId, request: { sku: 'x', amount_cents: 70 } },
      headers,
    });
  const statusOf = async (transactionId: unknown) =>
    (await call(gw, 'GET', `/agp/status/${transactionId}`, { key: tenant.agentKey })).body;

  it('signs the forwarded request so the business can verify it with its signing secret', async () => {
    const { id, signingSecret } = await registerHttpBusiness(gw, healthy.url, 'signed-shop');
    const res = await execute(id, { 'Idempotency-Key': 'sig-1', 'X-Request-Id': 'req-sig-1' });
    expect(res.status).toBe(200);
    const forwarded = healthy.requests.at(-1);
    if (!forwarded) throw new Error('the business was not called');
    expect(forwarded.method).toBe('POST');
    expect(forwarded.url).toBe('/agp/execute');
    const verified = new Webhook(signingSecret).verify(
      forwarded.body,
      forwarded.headers as Record<string, string>,
    );
    expect(verified).toEqual({
      businessId: id,
      request: { sku: 'x', amount_cents: 70 },
      transactionId: res.body.transactionId,
    });
    expect(forwarded.headers['idempotency-key']).toBe('sig-1');
    expect(forwarded.headers.authorization).toBeUndefined();
    // Another secret does not verify: the signature is real.
    expect(() =>
      new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(
        forwarded.body,
        forwarded.headers as Record<string, string>,
      ),
    ).toThrow();
  });

  it('a business that is down is 502 ADAPTER_ERROR, recorded as failed', async () => {
    const { id } = await registerHttpBusiness(gw, downUrl, 'down-shop');
    const res = await execute(id);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'ADAPTER_ERROR' });
    const txn = (res.body.details as { transactionId: string }).transactionId;
    expect(await statusOf(txn)).toMatchObject({
      status: 'failed',
      operation: 'execute',
      error: { code: 'ADAPTER_ERROR' },
    });
  });

  it('a business slower than ADAPTER_TIMEOUT_MS is 504 ADAPTER_TIMEOUT, recorded as unknown (it may have acted)', async () => {
    const { id } = await registerHttpBusiness(gw, slow.url, 'slow-shop');
    const started = Date.now();
    const res = await execute(id);
    expect(Date.now() - started).toBeLessThan(1400);
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ code: 'ADAPTER_TIMEOUT' });
    const txn = (res.body.details as { transactionId: string }).transactionId;
    expect(res.body).toMatchObject({ details: { status: 'unknown' } });
    expect(await statusOf(txn)).toMatchObject({ status: 'unknown', error: { code: 'ADAPTER_TIMEOUT' } });
  });

  it('a non-2xx answer is 502 with the upstream status in details', async () => {
    const { id } = await registerHttpBusiness(gw, refusing.url, 'refusing-shop');
    const res = await execute(id);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'ADAPTER_ERROR', details: { upstreamStatus: 409 } });
  });

  it('a failed discover or query is recorded too', async () => {
    const { id } = await registerHttpBusiness(gw, downUrl, 'down-query');
    const res = await call(gw, 'POST', '/agp/query', {
      key: tenant.agentKey,
      body: { businessId: id, request: {} },
    });
    expect(res.status).toBe(502);
    const txn = (res.body.details as { transactionId: string }).transactionId;
    expect(await statusOf(txn)).toMatchObject({ status: 'failed', operation: 'query' });
  });
});
