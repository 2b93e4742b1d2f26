import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdapterDispatcher } from '../../adapters/http/dispatcher.ts';
import { createHttpAdapter, toAdapterError } from '../../adapters/http/index.ts';
import { type Adapter, type AdapterConfig, AdapterError } from '../../adapters/types.ts';
import { closedPort, json, newSigningSecret, startUpstream, type Upstream } from './upstream.ts';

type HttpConfig = Extract<AdapterConfig, { type: 'http' }>;

const secret = newSigningSecret();
let upstream: Upstream;
let dispatcher: Agent;

function adapterFor(config: Partial<HttpConfig> = {}, businessId = 'biz_1'): Adapter {
  return createHttpAdapter({
    businessId,
    config: { type: 'http', baseUrl: upstream.url, ...config },
    signingSecret: secret,
    dispatcher,
  });
}

function headerMap(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<AdapterError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdapterError);
  return err as AdapterError;
}

beforeAll(async () => {
  upstream = await startUpstream();
  dispatcher = createAdapterDispatcher({ timeoutMs: 2_000, allowPrivate: true });
});

afterEach(() => {
  upstream.requests.length = 0;
  upstream.handle((_req, res) => json(res, 200, { ok: true }));
});

afterAll(async () => {
  await dispatcher.close();
  await upstream.close();
});

describe('http adapter: default wire', () => {
  it('POSTs {businessId, request, transactionId} to {baseUrl}/agp/{operation}, signed', async () => {
    upstream.handle((_req, res) => json(res, 200, { status: 'succeeded', data: { orderId: 'o1' } }));
    const result = await adapterFor().execute(
      { sku: 'a', amount_cents: 120 },
      { idempotencyKey: 'idem-1' },
      { businessId: 'biz_1', transactionId: 'txn_1', requestId: 'req_1' },
    );
    expect(result).toEqual({ status: 'succeeded', data: { orderId: 'o1' } });

    const [req] = upstream.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/agp/execute');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body.toString() ?? '')).toEqual({
      businessId: 'biz_1',
      request: { sku: 'a', amount_cents: 120 },
      transactionId: 'txn_1',
    });
    expect(req?.headers['idempotency-key']).toBe('idem-1');
    expect(req?.headers['x-request-id']).toBe('req_1');
    expect(req?.headers['webhook-id']).toBe('txn_1');
    // The business verifies the raw bytes it received with the shared secret.
    expect(() => new Webhook(secret).verify(req?.body ?? '', headerMap(req?.headers ?? {}))).not.toThrow();
    expect(() =>
      new Webhook(newSigningSecret()).verify(req?.body ?? '', headerMap(req?.headers ?? {})),
    ).toThrow();
  });

  it('discover sends an empty request; query carries the request; no Idempotency-Key outside execute', async () => {
    const adapter = adapterFor({}, 'biz_2');
    await adapter.discover({ businessId: 'biz_2', transactionId: 'txn_d' });
    await adapter.query({ sku: 'x' }, { businessId: 'biz_2', transactionId: 'txn_q' });
    const [d, q] = upstream.requests;
    expect(d?.url).toBe('/agp/discover');
    expect(JSON.parse(d?.body.toString() ?? '')).toEqual({
      businessId: 'biz_2',
      request: {},
      transactionId: 'txn_d',
    });
    expect(q?.url).toBe('/agp/query');
    expect(JSON.parse(q?.body.toString() ?? '')).toMatchObject({ request: { sku: 'x' } });
    expect(q?.headers['idempotency-key']).toBeUndefined();
    expect(q?.headers['x-request-id']).toBeUndefined();
  });

  it('keeps a path prefix of baseUrl', async () => {
    await adapterFor({ baseUrl: `${upstream.url}/api/v2/` }).discover({
      businessId: 'biz_1',
      transactionId: 't',
    });
    expect(upstream.requests[0]?.url).toBe('/api/v2/agp/discover');
  });

  it('forwards extra headers without hop-by-hop ones, and never lets them replace its own', async () => {
    await adapterFor().execute(
      { a: 1 },
      { idempotencyKey: 'real' },
      {
        businessId: 'biz_1',
        transactionId: 'txn_h',
        headers: {
          traceparent: '00-abc-def-01',
          connection: 'x-secret-hop',
          'x-secret-hop': 'drop me',
          'keep-alive': 'timeout=5',
          'idempotency-key': 'spoofed',
          'webhook-signature': 'v1,spoofed',
          authorization: 'Bearer wk_agent_key',
        },
      },
    );
    const headers = upstream.requests[0]?.headers ?? {};
    expect(headers.traceparent).toBe('00-abc-def-01');
    expect(headers['x-secret-hop']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
    expect(headers.authorization).toBeUndefined();
    expect(headers['idempotency-key']).toBe('real');
    expect(() =>
      new Webhook(secret).verify(upstream.requests[0]?.body ?? '', headerMap(headers)),
    ).not.toThrow();
  });
});

describe('http adapter: per-operation overrides', () => {
  it('uses the override method and path', async () => {
    const adapter = adapterFor({ operations: { execute: { method: 'PUT', path: '/orders' } } });
    await adapter.execute({ n: 1 }, {}, { businessId: 'biz_1', transactionId: 'txn_o' });
    await adapter.query({}, { businessId: 'biz_1', transactionId: 'txn_o2' });
    expect(upstream.requests[0]?.method).toBe('PUT');
    expect(upstream.requests[0]?.url).toBe('/orders');
    expect(JSON.parse(upstream.requests[0]?.body.toString() ?? '')).toMatchObject({ request: { n: 1 } });
    expect(upstream.requests[1]?.url).toBe('/agp/query');
  });

  it('a GET override sends no body, puts the identifiers in the query, and signs the empty string', async () => {
    const adapter = adapterFor({ operations: { query: { method: 'GET', path: '/prices?currency=usd' } } });
    await adapter.query({ sku: 'a b', n: 2 }, { businessId: 'biz_1', transactionId: 'txn_g' });
    const req = upstream.requests[0];
    expect(req?.method).toBe('GET');
    expect(req?.body.length).toBe(0);
    const url = new URL(req?.url ?? '', 'http://x');
    expect(url.pathname).toBe('/prices');
    expect(url.searchParams.get('currency')).toBe('usd');
    expect(url.searchParams.get('businessId')).toBe('biz_1');
    expect(url.searchParams.get('transactionId')).toBe('txn_g');
    expect(url.searchParams.get('sku')).toBe('a b');
    expect(url.searchParams.get('n')).toBe('2');
    expect(req?.headers['content-type']).toBeUndefined();
    expect(() => new Webhook(secret).verify('', headerMap(req?.headers ?? {}))).not.toThrow();
  });
});

describe('http adapter: responses', () => {
  const ctx = { businessId: 'biz_1', transactionId: 'txn_r' };

  it('passes pending_confirmation through', async () => {
    upstream.handle((_req, res) =>
      json(res, 200, { status: 'pending_confirmation', data: { confirmationToken: 'ct', summary: 'Buy' } }),
    );
    expect(await adapterFor().execute({}, {}, ctx)).toEqual({
      status: 'pending_confirmation',
      data: { confirmationToken: 'ct', summary: 'Buy' },
    });
  });

  it('reads AGP {status, ...fields} without data as that status with the fields', async () => {
    upstream.handle((_req, res) =>
      json(res, 200, { status: 'pending_confirmation', confirmationToken: 'ct' }),
    );
    expect(await adapterFor().execute({}, {}, ctx)).toEqual({
      status: 'pending_confirmation',
      data: { confirmationToken: 'ct' },
    });
  });

  it('failed is passed through', async () => {
    upstream.handle((_req, res) => json(res, 200, { status: 'failed', data: { error: 'out of stock' } }));
    expect(await adapterFor().execute({}, {}, ctx)).toEqual({
      status: 'failed',
      data: { error: 'out of stock' },
    });
  });

  it('plain JSON is a success with that data; an unknown status field is data too', async () => {
    upstream.handle((_req, res) => json(res, 200, { items: [1, 2] }));
    expect(await adapterFor().query({}, ctx)).toEqual({ status: 'succeeded', data: { items: [1, 2] } });
    upstream.handle((_req, res) => json(res, 201, { status: 'shipped' }));
    expect(await adapterFor().query({}, ctx)).toEqual({ status: 'succeeded', data: { status: 'shipped' } });
  });

  it('an empty 2xx is a success without data', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    expect(await adapterFor().execute({}, {}, ctx)).toEqual({ status: 'succeeded' });
  });

  it('non-2xx is ADAPTER_ERROR with the upstream status', async () => {
    upstream.handle((_req, res) => json(res, 503, { error: 'down for maintenance' }));
    const err = await rejection(adapterFor().execute({}, {}, ctx));
    expect(err.code).toBe('ADAPTER_ERROR');
    expect(err.upstreamStatus).toBe(503);
    expect(err.message).toBe('Upstream answered 503.');
  });

  it('a redirect is not followed and is ADAPTER_ERROR', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/' });
      res.end();
    });
    const err = await rejection(adapterFor().query({}, ctx));
    expect(err.upstreamStatus).toBe(302);
    expect(upstream.requests).toHaveLength(1);
  });

  it('a 2xx that is not JSON is ADAPTER_ERROR', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>hi</html>');
    });
    const err = await rejection(adapterFor().query({}, ctx));
    expect(err.code).toBe('ADAPTER_ERROR');
    expect(err.upstreamStatus).toBe(200);
  });

  it('caps the response body', async () => {
    const small = createHttpAdapter({
      businessId: 'biz_1',
      config: { type: 'http', baseUrl: upstream.url },
      signingSecret: secret,
      dispatcher,
      maxResponseBytes: 1024,
    });
    // Declared too large.
    upstream.handle((_req, res) => json(res, 200, { blob: 'x'.repeat(4096) }));
    expect((await rejection(small.query({}, ctx))).message).toBe('Upstream response too large.');
    // Chunked, no content-length: counted while reading.
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"blob":"${'x'.repeat(800)}`);
      res.end(`${'x'.repeat(800)}"}`);
    });
    expect((await rejection(small.query({}, ctx))).message).toBe('Upstream response too large.');
  });
});

describe('http adapter: failures and timeouts', () => {
  it('upstream down is ADAPTER_ERROR', async () => {
    const port = await closedPort();
    const adapter = createHttpAdapter({
      businessId: 'biz_1',
      config: { type: 'http', baseUrl: `http://127.0.0.1:${port}` },
      signingSecret: secret,
      dispatcher,
    });
    const err = await rejection(adapter.discover({ businessId: 'biz_1', transactionId: 't' }));
    expect(err.code).toBe('ADAPTER_ERROR');
    expect(err.message).toBe('Upstream refused the connection.');
    expect(err.upstreamStatus).toBeUndefined();
  });

  // undici checks headers/body timeouts on a ~0.5 s tick, so a 200 ms timeout fires within ~1.2 s: the
  // upstream waits well past that to keep the test free of races.
  it('upstream slower than timeoutMs is ADAPTER_TIMEOUT', async () => {
    const fast = createAdapterDispatcher({ timeoutMs: 200, allowPrivate: true });
    try {
      upstream.handle(async (_req, res) => {
        await sleep(3_000);
        if (!res.destroyed) json(res, 200, { late: true });
      });
      const adapter = createHttpAdapter({
        businessId: 'biz_1',
        config: { type: 'http', baseUrl: upstream.url },
        signingSecret: secret,
        dispatcher: fast,
      });
      const started = Date.now();
      const err = await rejection(adapter.execute({}, {}, { businessId: 'biz_1', transactionId: 't' }));
      expect(err.code).toBe('ADAPTER_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(2_500);
    } finally {
      await fast.destroy();
    }
  });

  it('a body that stalls past timeoutMs is ADAPTER_TIMEOUT', async () => {
    const fast = createAdapterDispatcher({ timeoutMs: 200, allowPrivate: true });
    try {
      upstream.handle(async (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        await sleep(3_000);
        if (!res.destroyed) res.end('1}');
      });
      const adapter = createHttpAdapter({
        businessId: 'biz_1',
        config: { type: 'http', baseUrl: upstream.url },
        signingSecret: secret,
        dispatcher: fast,
      });
      const err = await rejection(adapter.query({}, { businessId: 'biz_1', transactionId: 't' }));
      expect(err.code).toBe('ADAPTER_TIMEOUT');
    } finally {
      await fast.destroy();
    }
  });

  it('passes ctx.signal: an aborted call is ADAPTER_ERROR, a timed-out signal ADAPTER_TIMEOUT', async () => {
    upstream.handle(async (_req, res) => {
      await sleep(500);
      if (!res.destroyed) json(res, 200, {});
    });
    const controller = new AbortController();
    const pending = adapterFor().query(
      {},
      { businessId: 'biz_1', transactionId: 't', signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    const aborted = await rejection(pending);
    expect(aborted.code).toBe('ADAPTER_ERROR');
    expect(aborted.message).toBe('Upstream request aborted.');

    const timedOut = await rejection(
      adapterFor().query({}, { businessId: 'biz_1', transactionId: 't', signal: AbortSignal.timeout(50) }),
    );
    expect(timedOut.code).toBe('ADAPTER_TIMEOUT');
  });

  it('maps errors by code, not by message', () => {
    const withCode = (code: string) => Object.assign(new Error('whatever text'), { code });
    expect(toAdapterError(withCode('UND_ERR_CONNECT_TIMEOUT')).code).toBe('ADAPTER_TIMEOUT');
    expect(toAdapterError(withCode('UND_ERR_HEADERS_TIMEOUT')).code).toBe('ADAPTER_TIMEOUT');
    expect(toAdapterError(withCode('UND_ERR_BODY_TIMEOUT')).code).toBe('ADAPTER_TIMEOUT');
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'UND_ERR_SOCKET',
      'ENOTFOUND',
      'HPE_INVALID_CONSTANT',
    ]) {
      expect(toAdapterError(withCode(code)).code).toBe('ADAPTER_ERROR');
    }
    expect(toAdapterError(new Error('timeout')).code).toBe('ADAPTER_ERROR');
    const aggregate = new AggregateError([withCode('ECONNREFUSED')], 'all failed');
    expect(toAdapterError(aggregate).message).toBe('Upstream refused the connection.');
    const original = new AdapterError('ADAPTER_ERROR', 'Outbound address not allowed');
    expect(toAdapterError(original)).toBe(original);
  });

  it('reuses the keep-alive socket across calls', async () => {
    const own = await startUpstream((_req, res) => json(res, 200, { status: 'succeeded', data: {} }));
    const pool = createAdapterDispatcher({ timeoutMs: 2_000, allowPrivate: true });
    try {
      const adapter = createHttpAdapter({
        businessId: 'biz_1',
        config: { type: 'http', baseUrl: own.url },
        signingSecret: secret,
        dispatcher: pool,
      });
      const ctx = { businessId: 'biz_1', transactionId: 't' };
      await adapter.discover(ctx);
      await adapter.query({}, ctx);
      // A non-2xx body is drained, so the socket is reused after an error too.
      own.handle((_req, res) => json(res, 500, { error: 'x' }));
      await rejection(adapter.execute({}, {}, ctx));
      own.handle((_req, res) => json(res, 200, {}));
      await adapter.execute({}, {}, ctx);
      expect(own.requests).toHaveLength(4);
      expect(own.connections()).toBe(1);
    } finally {
      await pool.close();
      await own.close();
    }
  });

  it('refuses a baseUrl that is not http(s) when built', () => {
    expect(() =>
      createHttpAdapter({
        businessId: 'biz_1',
        config: { type: 'http', baseUrl: 'file:///etc/passwd' },
        signingSecret: secret,
        dispatcher,
      }),
    ).toThrow(/http or https/);
  });
});

describe('http adapter: override paths stay on the business origin', () => {
  it('a protocol-relative override path is a path, not another host', async () => {
    const own = await startUpstream();
    const pool = createAdapterDispatcher({ timeoutMs: 2_000, allowPrivate: true });
    try {
      const adapter = createHttpAdapter({
        businessId: 'biz_1',
        config: {
          type: 'http',
          baseUrl: own.url,
          operations: { query: { method: 'POST', path: '//evil.example/x' } },
        },
        signingSecret: secret,
        dispatcher: pool,
      });
      await adapter.query({}, { businessId: 'biz_1', transactionId: 't' });
      expect(own.requests[0]?.url).toBe('//evil.example/x');
    } finally {
      await pool.close();
      await own.close();
    }
  });
});
