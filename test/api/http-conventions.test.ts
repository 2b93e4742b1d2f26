import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ledger from '../../gateway/repositories/transactions.ts';
import {
  call,
  createTenant,
  listen,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { type Answer, expectError } from './envelope.ts';

/** DESIGN §3 HTTP conventions and the §4 agent API shapes, through the echo business. */

const MiB = 1024 * 1024;
const GENERATED_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let gw: TestGateway;
let tenant: Tenant;
let echo: string;
let server: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await createTenant(gw);
  echo = await registerEcho(gw);
  server = await listen(gw);
});
afterAll(async () => {
  await server.close();
  await gw.dispose();
});

const agent = (
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
) => call(gw, method, path, { key: tenant.agentKey, ...options });

/** A JSON execute body of exactly `bytes` bytes. */
function bodyOfSize(bytes: number): string {
  const empty = JSON.stringify({ businessId: echo, request: { sku: 'sticker', pad: '' } });
  const text = JSON.stringify({
    businessId: echo,
    request: { sku: 'sticker', pad: 'x'.repeat(bytes - empty.length) },
  });
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

/** A raw request on a real socket, the body streamed in chunks without Content-Length. */
function streamed(url: string, path: string, key: string, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${path}`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${key}`,
          'Content-Type': 'application/json',
          'Transfer-Encoding': 'chunked',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
            headers,
          });
        });
      },
    );
    // The server may answer and close before the whole body is written.
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.slice(i, i + 64 * 1024));
    req.end();
  });
}

describe('body limit (1 MiB)', () => {
  it('a body of exactly 1 MiB is accepted', async () => {
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      rawBody: bodyOfSize(MiB),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
  });

  it('one byte more is 413 PAYLOAD_TOO_LARGE, and nothing is executed', async () => {
    const before = await ledger.listTransactions(gw.db.reader, tenant.workspaceId, { limit: 1000 });
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      rawBody: bodyOfSize(MiB + 1),
      headers: { 'Content-Type': 'application/json' },
    });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    const after = await ledger.listTransactions(gw.db.reader, tenant.workspaceId, { limit: 1000 });
    expect(after.map((t) => t.id)).toEqual(before.map((t) => t.id));
  });

  it.each(['/agp/discover', '/agp/query', '/agp/execute/prepare', '/v1/keys', '/v1/admin/businesses'])(
    '%s refuses an oversized body with 413 on a real socket (Content-Length)',
    async (path) => {
      const raw = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tenant.agentKey}`, 'Content-Type': 'application/json' },
        body: bodyOfSize(2 * MiB),
      });
      const res = {
        status: raw.status,
        headers: raw.headers,
        body: (await raw.json()) as Record<string, unknown>,
      };
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    },
  );

  it('refuses an oversized chunked body without Content-Length', async () => {
    const res = await streamed(server.url, '/agp/execute', tenant.agentKey, bodyOfSize(3 * MiB));
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('accepts a small chunked body', async () => {
    const res = await streamed(
      server.url,
      '/agp/query',
      tenant.agentKey,
      JSON.stringify({ businessId: echo, request: {} }),
    );
    expect(res.status).toBe(200);
  });
});

describe('a refused body does not break the keep-alive connection', () => {
  // One connection, reused: what an agent's pooled HTTP client does. A refusal that leaves the body
  // unread must not take the next request on the connection with it.
  let client: Client;
  beforeAll(() => {
    client = new Client(server.url, { pipelining: 1 });
  });
  afterAll(async () => {
    await client.close();
  });

  const send = async (path: string, key: string, body: string | Readable) => {
    const res = await client.request({
      path,
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body,
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const small = () => JSON.stringify({ businessId: echo, request: { sku: 'sticker' } });
  const chunked = (text: string) =>
    Readable.from(
      (function* () {
        for (let i = 0; i < text.length; i += 64 * 1024) yield Buffer.from(text.slice(i, i + 64 * 1024));
      })(),
    );

  it.each([
    ['401 (wrong key)', '/agp/query', () => 'wk_never-issued', 500 * 1024, 401],
    ['404 (unknown route)', '/agp/nowhere', () => tenant.agentKey, 500 * 1024, 404],
    ['401 (operator route, agent key)', '/v1/admin/businesses', () => tenant.agentKey, 500 * 1024, 401],
    ['413 (Content-Length over 1 MiB)', '/agp/query', () => tenant.agentKey, 3 * MiB, 413],
  ])('after a %s the next request on the connection succeeds', async (_what, path, key, size, status) => {
    for (let round = 0; round < 3; round++) {
      const refused = await send(path, key(), bodyOfSize(size));
      expect(refused.status).toBe(status);
      const next = await send('/agp/query', tenant.agentKey, small());
      expect(next.status).toBe(200);
      expect(next.body.status).toBe('succeeded');
    }
  });

  it('after a chunked body over 1 MiB is refused, the next request succeeds', async () => {
    for (let round = 0; round < 2; round++) {
      const refused = await send('/agp/query', tenant.agentKey, chunked(bodyOfSize(3 * MiB)));
      expect(refused.status).toBe(413);
      expect((await send('/agp/query', tenant.agentKey, chunked(small()))).status).toBe(200);
    }
  });
});

describe('errors', () => {
  it.each([
    ['GET', '/nope'],
    ['POST', '/agp/unknown'],
    ['GET', '/agp/execute'],
    ['DELETE', '/agp/businesses'],
    ['GET', '/v1/nothing/here'],
  ])('%s %s is a 404 NOT_FOUND envelope', async (method, path) => {
    expectError(await agent(method, path), 404, 'NOT_FOUND');
  });

  it.each(['/agp/discover', '/agp/query', '/agp/execute/prepare', '/agp/execute'])(
    '%s with a body that is not JSON is 400 VALIDATION_ERROR',
    async (path) => {
      for (const rawBody of ['{"businessId":', 'businessId=echo', '']) {
        const res = await call(gw, 'POST', path, {
          key: tenant.agentKey,
          rawBody,
          headers: { 'Content-Type': 'application/json' },
        });
        expectError(res, 400, 'VALIDATION_ERROR');
      }
    },
  );

  it.each(['/agp/query', '/agp/execute/prepare', '/agp/execute'])(
    '%s without request, or with a request that is not an object, is 400 with the path',
    async (path) => {
      for (const body of [{ businessId: echo }, { businessId: echo, request: 'buy' }, { request: {} }]) {
        const res = await agent('POST', path, { body });
        expectError(res, 400, 'VALIDATION_ERROR');
        const paths = (res.body.details as { path: string }[]).map((d) => d.path);
        expect(paths.some((p) => p === 'request' || p === 'businessId')).toBe(true);
      }
    },
  );

  it.each([
    ['/agp/discover', { businessId: 'no-such-business' }],
    ['/agp/query', { businessId: 'no-such-business', request: {} }],
    ['/agp/execute/prepare', { businessId: 'no-such-business', request: {} }],
    ['/agp/execute', { businessId: 'no-such-business', request: {} }],
  ])('%s with an unknown businessId is 400 BUSINESS_NOT_FOUND', async (path, body) => {
    const res = await agent('POST', path, { body });
    expectError(res, 400, 'BUSINESS_NOT_FOUND');
    expect(res.body.error).toContain('no-such-business');
  });

  it('an unexpected failure is a 500 INTERNAL_ERROR envelope without a stack trace', async () => {
    const broken = await startTestGateway();
    try {
      const t = await createTenant(broken);
      await broken.db.close();
      const res = await call(broken, 'GET', '/agp/businesses', { key: t.agentKey });
      expectError(res, 500, 'INTERNAL_ERROR');
      expect(JSON.stringify(res.body)).not.toMatch(/closed|Error:|at /i);
    } finally {
      await broken.dispose().catch(() => undefined);
    }
  });
});

describe('X-Request-Id', () => {
  it('every answer carries a generated one when none is sent', async () => {
    for (const res of [
      await call(gw, 'GET', '/health'),
      await agent('GET', '/agp/businesses'),
      await call(gw, 'GET', '/agp/businesses'),
      await call(gw, 'GET', '/nope'),
    ]) {
      expect(res.headers.get('X-Request-Id')).toMatch(GENERATED_ID);
    }
    const a = await call(gw, 'GET', '/health');
    const b = await call(gw, 'GET', '/health');
    expect(a.headers.get('X-Request-Id')).not.toBe(b.headers.get('X-Request-Id'));
  });

  it.each(['abc-123', 'trace.id:part_2', 'A'.repeat(128), '01J8ZQ4Y6V3W2X1Y0Z9A8B7C6D'])(
    'a safe incoming id %s is echoed, on successes and errors alike',
    async (id) => {
      const ok = await agent('GET', '/agp/businesses', { headers: { 'X-Request-Id': id } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('X-Request-Id')).toBe(id);
      const refused = await call(gw, 'GET', '/agp/businesses', { headers: { 'X-Request-Id': id } });
      expectError(refused, 401, 'UNAUTHORIZED');
      expect(refused.body.requestId).toBe(id);
    },
  );

  it.each(['A'.repeat(129), 'has space', '<script>', 'id;drop', 'ünïcode', 'a/b', '"quoted"'])(
    'an unsafe incoming id %j is replaced by a generated one',
    async (id) => {
      const res = await call(gw, 'GET', '/nope', { headers: { 'X-Request-Id': id } });
      expectError(res, 404, 'NOT_FOUND');
      expect(res.headers.get('X-Request-Id')).toMatch(GENERATED_ID);
      expect(res.body.requestId).toBe(res.headers.get('X-Request-Id'));
    },
  );

  it('the id is recorded on the transaction it produced', async () => {
    const res = await agent('POST', '/agp/query', {
      body: { businessId: echo, request: {} },
      headers: { 'X-Request-Id': 'trace-42' },
    });
    const txn = await ledger.getTransaction(
      gw.db.reader,
      tenant.workspaceId,
      res.body.transactionId as string,
    );
    expect(txn?.requestId).toBe('trace-42');
  });
});

describe('health and readiness', () => {
  it('GET /health is 200 without a key', async () => {
    const res = await call(gw, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /ready is 200 and names the database', async () => {
    const res = await call(gw, 'GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', database: 'sqlite' });
  });

  it('GET /ready is 503 once the gateway stops accepting, and when the database is gone', async () => {
    const other = await startTestGateway();
    try {
      other.health.accepting = false;
      expect((await call(other, 'GET', '/ready')).status).toBe(503);
      other.health.accepting = true;
      expect((await call(other, 'GET', '/ready')).status).toBe(200);
      await other.db.close();
      const res = await call(other, 'GET', '/ready');
      expect(res.status).toBe(503);
      expect(JSON.stringify(res.body)).not.toMatch(/ at |Error/);
      // Liveness does not depend on the database.
      expect((await call(other, 'GET', '/health')).status).toBe(200);
    } finally {
      await other.dispose().catch(() => undefined);
    }
  });
});

describe('agent API shapes', () => {
  it('discover: {transactionId, status:"succeeded", data:{business, …adapter data}}', async () => {
    const res = await agent('POST', '/agp/discover', { body: { businessId: echo } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['data', 'status', 'transactionId']);
    expect(res.body.transactionId).toMatch(/^txn_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.body.status).toBe('succeeded');
    const data = res.body.data as Record<string, unknown>;
    expect(data.business).toEqual({ id: echo, name: `Echo ${echo}`, category: 'demo', description: '' });
    // The echo adapter's own discovery data rides along.
    expect(Array.isArray(data.catalog)).toBe(true);
    expect((data.catalog as unknown[]).length).toBeGreaterThan(0);
  });

  it('query: {transactionId, status, data}', async () => {
    const res = await agent('POST', '/agp/query', {
      body: { businessId: echo, request: { sku: 'sticker' } },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['data', 'status', 'transactionId']);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.data).toEqual({ prices: [expect.objectContaining({ sku: 'sticker', price_cents: 50 })] });
  });

  it('status shows operation and businessId for each operation', async () => {
    const discovered = await agent('POST', '/agp/discover', { body: { businessId: echo } });
    const queried = await agent('POST', '/agp/query', { body: { businessId: echo, request: {} } });
    const executed = await agent('POST', '/agp/execute', {
      body: { businessId: echo, request: { sku: 'sticker' } },
    });
    for (const [res, operation] of [
      [discovered, 'discover'],
      [queried, 'query'],
      [executed, 'execute'],
    ] as const) {
      const id = res.body.transactionId as string;
      const status = await agent('GET', `/agp/status/${id}`);
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({
        transactionId: id,
        status: 'succeeded',
        businessId: echo,
        operation,
      });
      expect(status.body.createdAt).toMatch(ISO);
      expect(status.body.updatedAt).toMatch(ISO);
    }
  });

  it('prepare: {confirmationToken, expiresAt, summary}', async () => {
    const res = await agent('POST', '/agp/execute/prepare', {
      body: { businessId: echo, request: { sku: 'sticker', amount_cents: 50 } },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['confirmationToken', 'expiresAt', 'summary']);
    expect(res.body.expiresAt).toMatch(ISO);
    expect(Date.parse(res.body.expiresAt as string) - gw.now.value).toBe(300_000);
    expect(res.body.summary).toEqual(expect.stringContaining('sticker'));
  });

  it('an execute the adapter reports failed is 200 with status failed, recorded as failed', async () => {
    const res = await agent('POST', '/agp/execute', {
      body: { businessId: echo, request: { simulate: 'failure' } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ transactionId: expect.any(String), status: 'failed' });
    const status = await agent('GET', `/agp/status/${res.body.transactionId as string}`);
    expect(status.body).toMatchObject({ status: 'failed', operation: 'execute', businessId: echo });
  });

  it('adapter-level confirmation: pending_confirmation (never succeeded), then the repeat with the token succeeds', async () => {
    const request = { sku: 'grinder', quantity: 1, amount_cents: 12900, requireConfirmation: true };
    const first = await agent('POST', '/agp/execute', { body: { businessId: echo, request } });
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('pending_confirmation');
    const data = first.body.data as Record<string, unknown>;
    expect(data.confirmationToken).toEqual(expect.any(String));
    expect(data.summary).toEqual(expect.stringContaining('Burr grinder'));
    const firstId = first.body.transactionId as string;

    const recorded = await agent('GET', `/agp/status/${firstId}`);
    expect(recorded.body).toMatchObject({
      status: 'pending_confirmation',
      operation: 'execute',
      businessId: echo,
    });
    const stored = await ledger.getTransaction(gw.db.reader, tenant.workspaceId, firstId);
    expect(stored?.status).toBe('pending_confirmation');

    const second = await agent('POST', '/agp/execute', {
      body: { businessId: echo, request: { ...request, confirmationToken: data.confirmationToken } },
    });
    expect(second.status).toBe(200);
    expect(second.body.status).toBe('succeeded');
    expect(second.body.transactionId).not.toBe(firstId);
    expect(second.body.data).toMatchObject({
      sku: 'grinder',
      amount_cents: 12900,
      orderId: expect.any(String),
    });
    expect((await agent('GET', `/agp/status/${second.body.transactionId as string}`)).body.status).toBe(
      'succeeded',
    );
    // The first transaction stays what it was: it did not become the order.
    expect((await agent('GET', `/agp/status/${firstId}`)).body.status).toBe('pending_confirmation');

    // The adapter's token is single use.
    const third = await agent('POST', '/agp/execute', {
      body: { businessId: echo, request: { ...request, confirmationToken: data.confirmationToken } },
    });
    expect(third.status).toBe(200);
    expect(third.body.status).toBe('failed');
  });
});
