import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/** Reproducible: a failure prints its seed and path; the same seed replays it. */
const SEED = 20261202;
const RUNS = 6000;

interface RouteDef {
  method: string;
  path: string;
}

/** JSON text RFC 8785 cannot canonicalise, or that nests absurdly deep, or is not JSON at all. */
const hostileText = fc.oneof(
  fc.constant('{"businessId":"echo","request":{"x":"\\ud800"}}'),
  fc.constant('{"businessId":"echo","request":{"amount_cents":1e400}}'),
  fc.constant(`{"businessId":"echo","request":${'['.repeat(5000)}${']'.repeat(5000)}}`),
  fc.constant(`${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`),
  fc.integer({ min: 1, max: 200 }).map((n) => `${'['.repeat(n)}${']'.repeat(n - 1)}`),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ maxLength: 50 }).map((s) => `{"businessId":${JSON.stringify(s)},"request":`),
  fc.constant('null'),
  fc.constant('"just a string"'),
  fc.constant('[]'),
  fc.constant(''),
);

/** Bodies with the right outline and wrong insides: wrong types, odd values, extra fields. */
const shapedBody = fc.record(
  {
    businessId: fc.oneof(fc.constant('echo'), fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)),
    request: fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
    ),
    amount_cents: fc.oneof(fc.double(), fc.string(), fc.bigInt().map(String)),
    name: fc.string({ maxLength: 300 }),
    email: fc.string({ maxLength: 300 }),
    role: fc.constantFrom('admin', 'approver', 'developer', 'root', ''),
    agentId: fc.string({ maxLength: 300 }),
    scopes: fc.array(fc.string()),
    status: fc.constantFrom('succeeded', 'failed', 'unknown', 'x'),
    reason: fc.string({ maxLength: 2000 }),
    url: fc.oneof(fc.webUrl(), fc.string()),
    events: fc.array(fc.string()),
    rules: fc.jsonValue({ maxDepth: 5 }),
    spending_limits: fc.jsonValue({ maxDepth: 4 }),
    adapter: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { weight: 3, arbitrary: shapedBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: hostileText },
);

const param = fc.oneof(
  fc.constantFrom(
    'txn_01J00000000000000000000000',
    'apr_x',
    'wh_x',
    'key_x',
    'default',
    'wal_x',
    '..',
    '%00',
  ),
  fc.string({ maxLength: 80 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
  fc.constant('a'.repeat(5000)),
);

const query = fc
  .dictionary(
    fc.constantFrom(
      'limit',
      'cursor',
      'status',
      'from',
      'to',
      'category',
      'q',
      'interval',
      'policy',
      'role',
      'otp',
    ),
    fc.oneof(fc.string({ maxLength: 60 }), fc.integer().map(String), fc.constant('2026-13-45T99:00:00Z')),
  )
  .map((q) => new URLSearchParams(q).toString());

describe(`seeded fuzz over every route (seed ${SEED}, ${RUNS} requests)`, () => {
  let gw: TestGateway;
  let tenant: Tenant;
  let approverToken = '';
  let routes: RouteDef[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ realClock: true });
    tenant = await createTenant(gw);
    await registerEcho(gw);
    const approver = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'fuzz-approver@acme.test', role: 'approver' },
    });
    approverToken = approver.body.token as string;
    // Every route the app serves (middleware entries are not routes).
    const seen = new Set<string>();
    for (const r of gw.app.routes) {
      if (r.method === 'ALL') continue;
      const id = `${r.method} ${r.path}`;
      if (!seen.has(id)) {
        seen.add(id);
        routes.push({ method: r.method, path: r.path });
      }
    }
    routes = routes.sort((a, b) => `${a.path}${a.method}`.localeCompare(`${b.path}${b.method}`));
    expect(routes.length).toBeGreaterThan(25);
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('no request gets a 5xx; every API refusal is the JSON error envelope', async () => {
    const credential = fc.constantFrom<() => Record<string, string>>(
      () => ({}),
      () => ({ Authorization: `Bearer ${tenant.agentKey}` }),
      () => ({ 'X-API-Key': tenant.agentKey }),
      () => ({ Authorization: `Bearer ${tenant.adminToken}` }),
      () => ({ Authorization: `Bearer ${approverToken}` }),
      () => ({ Authorization: `Bearer ${ADMIN_TOKEN}` }),
      () => ({ Authorization: 'Bearer wk_forged' }),
      () => ({ Authorization: 'Basic x' }),
    );
    const extraHeaders = fc.record(
      {
        'Content-Type': fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
        ),
        'Idempotency-Key': fc.oneof(fc.string({ maxLength: 40 }), fc.constant('k'.repeat(300))),
        'X-Confirmation-Token': fc.string({ maxLength: 60 }),
        'X-Request-Id': fc.string({ maxLength: 200 }),
      },
      { requiredKeys: [] },
    );
    const requestArb = fc.record({
      route: fc.integer({ min: 0, max: 10_000 }),
      params: fc.array(param, { minLength: 3, maxLength: 3 }),
      credential,
      headers: extraHeaders,
      body,
      query,
    });

    let sent = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async (input) => {
        const route = routes[input.route % routes.length] as RouteDef;
        let i = 0;
        const path = route.path.replace(/:[A-Za-z]+/g, () => input.params[i++] ?? 'x');
        const url = input.query ? `${path}?${input.query}` : path;
        const headers = { ...input.headers, ...input.credential() };
        // Header values must be valid ByteStrings; a client could not send anything else.
        for (const [name, value] of Object.entries(headers)) {
          if (!/^[\t\x20-\x7e]*$/.test(value)) delete (headers as Record<string, string>)[name];
        }
        const hasBody = route.method !== 'GET' && route.method !== 'HEAD';
        const res = await gw.app.request(url, {
          method: route.method,
          headers,
          body: hasBody ? input.body : undefined,
        });
        sent += 1;
        const text = await res.text();
        const where = `${route.method} ${url.slice(0, 120)} → ${res.status} ${text.slice(0, 200)}`;
        expect(res.status, where).toBeLessThan(500);
        if (route.path.startsWith('/approve/')) {
          // The approval page is for people: its refusals are pages, never a 5xx.
          return;
        }
        if (route.path === '/console' || route.path.startsWith('/console/')) {
          // The console is for people too: a refusal is a readable page (or 303 to sign in).
          if (res.status >= 400) expect(res.headers.get('Content-Type') ?? '', where).toMatch(/^text\/html/);
          return;
        }
        if (res.status >= 400) {
          expect(res.headers.get('Content-Type') ?? '', where).toMatch(/^application\/json/);
          const envelope = JSON.parse(text) as Record<string, unknown>;
          if (route.path === '/mcp' && 'jsonrpc' in envelope) {
            // Past auth and origin, /mcp speaks JSON-RPC: its protocol refusals are JSON-RPC errors.
            expect(envelope, where).toMatchObject({
              jsonrpc: '2.0',
              error: { code: expect.any(Number), message: expect.any(String) },
            });
            return;
          }
          expect(typeof envelope.error, where).toBe('string');
          expect(envelope.code, where).toMatch(/^[A-Z_]+$/);
          expect(envelope.requestId, where).toBe(res.headers.get('X-Request-Id'));
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(sent).toBe(RUNS);
  }, 180_000);
});
