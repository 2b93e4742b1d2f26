import { connect } from 'node:net';
import fc from 'fast-check';
import { getPath, getQueryParams, tryDecodeURIComponent } from 'hono/utils/url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, signIn } from '../console/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  listen,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/** Reproducible: a failure prints its seed and path; the same seed replays it. */
const SEED = 20261202;
/** Per dialect: PostgreSQL refuses text SQLite takes (a NUL), so each gets the whole run (issue 18). */
const RUNS = 10_000;
/** Requests written to a socket by hand, per dialect: header bytes no fetch client can send. */
const RAW_RUNS = 300;

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

/**
 * Text no store keeps (U+0000, lone surrogates), controls every store keeps but parsers trip on, and
 * anything else, in short strings (issue 18).
 */
const hostileChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '\u0001',
      '\b',
      '\t',
      '\n',
      '\r',
      '\u001b',
      '\u001f',
      '\u007f',
      '\u0085',
      '\u009f',
      '\u2028',
      '\ufeff',
      '\uffff',
    ),
  },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom('a', 'Z', '0', '_', '-', '.', '%', '/', '+', '?', '&', '=', ' ', '"'),
  },
);
const hostile = fc.array(hostileChar, { maxLength: 16 }).map((chars) => chars.join(''));

/** Percent-encoded as a client sends it: UTF-8, and a lone surrogate as its (WTF-8) bytes. */
function pct(text: string): string {
  let out = '';
  for (const char of text) {
    const cp = char.codePointAt(0) ?? 0;
    if (cp < 0xd800 || cp > 0xdfff) {
      out += encodeURIComponent(char);
      continue;
    }
    for (const byte of [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]) {
      out += `%${byte.toString(16).toUpperCase()}`;
    }
  }
  return out;
}

/** Escapes that are not what they seem: a NUL, an overlong NUL, a surrogate's bytes, broken ones. */
const oddEscape = fc.constantFrom(
  '%00',
  '%C0%80',
  '%ED%A0%80',
  '%ED%BF%BF',
  '%',
  '%0',
  '%zz',
  '%2500',
  '%E0%80',
  '%FF',
);
/** A path segment or a query name or value, as sent on the wire. */
const encoded = fc.oneof(
  hostile.map(pct),
  oddEscape,
  fc.tuple(hostile, oddEscape, hostile).map(([a, e, b]) => `${pct(a)}${e}${pct(b)}`),
);

/** Text fields of every route, with hostile text; the subtrees stored as JSON too. */
const hostileBody = fc
  .record(
    {
      businessId: fc.oneof(fc.constant('echo'), hostile),
      request: fc.dictionary(hostile, fc.oneof(hostile, fc.integer())),
      agentId: hostile,
      name: hostile,
      description: hostile,
      category: hostile,
      policy: hostile,
      email: hostile.map((s) => `${s}@acme.test`),
      url: hostile.map((s) => `https://example.com/${s}`),
      baseUrl: hostile.map((s) => `https://example.com/${s}`),
      reason: hostile,
      token: hostile,
      context: fc.record({
        agent_id: fc.oneof(fc.constant('agent-1'), hostile),
        payload_scope: fc.dictionary(hostile, hostile),
      }),
      webhook_url: hostile,
      policy_name: hostile,
      evaluation_id: hostile,
      data: fc.dictionary(hostile, hostile),
      rules: fc.array(
        fc.record({
          id: hostile,
          conditions: fc.constant([{ field: 'sku', op: 'eq', value: 'x' }]),
          action: fc.constant('reject'),
          reason: hostile,
        }),
        { maxLength: 2 },
      ),
      role: fc.constantFrom('admin', 'approver', 'developer'),
      status: fc.constantFrom('succeeded', 'failed', 'live'),
      events: fc.constant(['approval.decided']),
      type: fc.constant('http'),
    },
    { requiredKeys: [] },
  )
  .chain((b) =>
    fc.dictionary(hostile, hostile, { maxKeys: 2 }).map((extra) => JSON.stringify({ ...extra, ...b })),
  );

/** Console and approval forms: their field names, hostile values and `csrf=CSRF` (the session's, when sent). */
const hostileForm = fc
  .dictionary(
    fc.oneof(
      fc.constantFrom(
        'agentId',
        'policy',
        'url',
        'email',
        'role',
        'token',
        'id',
        'name',
        'document',
        'reason',
      ),
      hostile,
    ),
    hostile,
    { maxKeys: 4 },
  )
  .map((fields) =>
    ['csrf=CSRF', ...Object.entries(fields).map(([name, value]) => `${pct(name)}=${pct(value)}`)].join('&'),
  );

/** The same as multipart, raw (boundary `x`, as one of the Content-Types says). */
const hostileMultipart = fc
  .dictionary(fc.constantFrom('agentId', 'url', 'email', 'token', 'reason'), hostile, {
    minKeys: 1,
    maxKeys: 3,
  })
  .map(
    (fields) =>
      `${Object.entries(fields)
        .map(([name, value]) => `--x\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
        .join('')}--x--\r\n`,
  );

const body = fc.oneof(
  { weight: 3, arbitrary: shapedBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: hostileText },
  { weight: 3, arbitrary: hostileBody },
  { weight: 1, arbitrary: hostileForm },
  { weight: 1, arbitrary: hostileMultipart },
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
  encoded,
  encoded.map((e) => `txn_${e}`),
);

const query = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
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
      .map((q) => new URLSearchParams(q).toString()),
  },
  {
    // Filters with hostile names and values, encoded by hand (URLSearchParams would mend surrogates).
    weight: 1,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom('actor', 'target', 'agentId', 'businessId', 'agent', 'business', 'name'),
            encoded,
          ),
          encoded,
        ),
        { minLength: 1, maxLength: 4 },
      )
      .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join('&')),
  },
);

/** Whether the path or the query, as a route reads them (Hono decodes them), holds a NUL. */
function nulInUrl(url: string): boolean {
  const full = `http://gateway.test${url}`;
  const segments = getPath({ url: full } as Request).split('/');
  if (segments.some((segment) => tryDecodeURIComponent(segment).includes('\u0000'))) return true;
  const queries = Object.entries(getQueryParams(full) as Record<string, string[]>);
  return queries.some(([name, values]) => [name, ...values].some((text) => text.includes('\u0000')));
}

/**
 * One request written to a socket as is (Connection: close); the status line and body of its answer.
 * The socket is not half-closed: a client that ends its side has gone, and its request is dropped.
 */
function rawRequest(port: number, request: Buffer): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        head,
        body: text.slice(split + 4),
      });
    });
  });
}

describe.each(DIALECTS)(`seeded fuzz over every route on %s (seed ${SEED}, ${RUNS} requests)`, (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let approverToken = '';
  let consoleCookie = '';
  let consoleCsrf = '';
  let routes: RouteDef[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ dialect, realClock: true });
    tenant = await createTenant(gw);
    await registerEcho(gw);
    const approver = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'fuzz-approver@acme.test', role: 'approver' },
    });
    approverToken = approver.body.token as string;
    // A console session, so hostile filters and forms reach the console's queries too.
    consoleCookie = await signIn(gw, tenant.adminToken);
    consoleCsrf = (await open(gw, '/console/keys', consoleCookie)).csrf;
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
    await gw?.dispose();
  });

  it('no request gets a 5xx; every API refusal is the JSON error envelope; a NUL in the URL is 400', async () => {
    const credential = fc.constantFrom<() => Record<string, string>>(
      () => ({}),
      () => ({ Authorization: `Bearer ${tenant.agentKey}` }),
      () => ({ 'X-API-Key': tenant.agentKey }),
      () => ({ Authorization: `Bearer ${tenant.adminToken}` }),
      () => ({ Authorization: `Bearer ${approverToken}` }),
      () => ({ Authorization: `Bearer ${ADMIN_TOKEN}` }),
      () => ({ Authorization: 'Bearer wk_forged' }),
      () => ({ Authorization: 'Basic x' }),
      () => ({ Cookie: `warden_console=${consoleCookie}`, Origin: 'http://gateway.test' }),
    );
    // Header values as Node's parser lets them through: tab, visible ASCII and obs-text (RFC 9110 §5.5).
    const headerText = fc.oneof(fc.string({ maxLength: 40 }), hostile);
    const extraHeaders = fc.record(
      {
        'Content-Type': fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
        ),
        'Idempotency-Key': fc.oneof(headerText, fc.constant('k'.repeat(300))),
        'X-Confirmation-Token': fc.oneof(fc.string({ maxLength: 60 }), hostile),
        'X-Request-Id': fc.oneof(fc.string({ maxLength: 200 }), hostile),
        'Mcp-Session-Id': headerText,
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
    let refusedForNul = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async (input) => {
        const route = routes[input.route % routes.length] as RouteDef;
        let i = 0;
        const path = route.path.replace(/:[A-Za-z]+/g, () => input.params[i++] ?? 'x');
        const url = input.query ? `${path}?${input.query}` : path;
        const headers = { ...input.headers, ...input.credential() };
        // Header values must be valid ByteStrings; a client could not send anything else.
        for (const [name, value] of Object.entries(headers)) {
          if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) delete (headers as Record<string, string>)[name];
        }
        const hasBody = route.method !== 'GET' && route.method !== 'HEAD';
        const res = await gw.app.request(url, {
          method: route.method,
          headers,
          body: hasBody ? input.body.replace('csrf=CSRF', `csrf=${consoleCsrf}`) : undefined,
        });
        sent += 1;
        const text = await res.text();
        const where = `${dialect} ${route.method} ${url.slice(0, 120)} → ${res.status} ${text.slice(0, 200)}`;
        expect(res.status, where).toBeLessThan(500);
        // The edge refuses a NUL in any path segment or query parameter before any route runs.
        const nul = nulInUrl(url);
        if (nul) {
          expect(res.status, where).toBe(400);
          refusedForNul += 1;
        }
        if (route.path.startsWith('/approve/')) {
          // The approval page is for people: its refusals are pages, never a 5xx.
          return;
        }
        if (
          route.path === '/console' ||
          route.path.startsWith('/console/') ||
          route.path === '/oauth/authorize'
        ) {
          // The console is for people too: a refusal is a readable page (or 303 to sign in). So is the
          // OAuth authorization endpoint when it cannot send the browser back (RFC 6749 §4.1.2.1).
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
            if (nul) expect(envelope, where).toMatchObject({ error: { data: { code: 'VALIDATION_ERROR' } } });
            return;
          }
          if (route.path.startsWith('/oauth/') && !('code' in envelope)) {
            // The OAuth endpoints answer in the shape RFC 6749 §5.2 and RFC 7591 §3.2.2 require (the
            // edge's own refusals before them, such as a NUL or a too-deep body, are Warden's envelope).
            expect(envelope.error, where).toMatch(/^[a-z_]+$/);
            if ('error_description' in envelope)
              expect(typeof envelope.error_description, where).toBe('string');
            return;
          }
          expect(typeof envelope.error, where).toBe('string');
          expect(envelope.code, where).toMatch(/^[A-Z_]+$/);
          expect(envelope.requestId, where).toBe(res.headers.get('X-Request-Id'));
          if (nul) expect(envelope.code, where).toBe('VALIDATION_ERROR');
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(sent).toBe(RUNS);
    // The run does reach the edge check, often.
    expect(refusedForNul).toBeGreaterThan(RUNS / 20);
  }, 300_000);

  it('raw header and request-line bytes (NUL, controls, obs-text) never get a 5xx', async () => {
    const server = await listen(gw);
    const port = Number(new URL(server.url).port);
    const byte = fc.oneof(
      fc.constantFrom(0x00, 0x01, 0x08, 0x0b, 0x1b, 0x7f, 0x80, 0xff),
      fc.integer({ min: 0x20, max: 0x7e }),
    );
    const bytes = fc.array(byte, { minLength: 1, maxLength: 20 }).map((b) => Buffer.from(b));
    const header = fc.constantFrom('Idempotency-Key', 'X-Request-Id', 'Authorization', 'Cookie', 'X-API-Key');
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 10_000 }),
          header,
          bytes,
          fc.boolean(),
          async (index, name, value, inTarget) => {
            const route = routes[index % routes.length] as RouteDef;
            const path = Buffer.from(route.path.replace(/:[A-Za-z]+/g, 'x'));
            const target = inTarget ? Buffer.concat([path, Buffer.from('?q='), value]) : path;
            const request = Buffer.concat([
              Buffer.from(`${route.method} `),
              target,
              Buffer.from(` HTTP/1.1\r\nHost: gateway.test\r\n${name}: `),
              value,
              Buffer.from(
                `\r\nAuthorization: Bearer ${tenant.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
              ),
            ]);
            const res = await rawRequest(port, request);
            const where = `${dialect} ${request.toString('latin1').slice(0, 160)} → ${res.head.slice(0, 120)}`;
            expect(res.status, where).toBeGreaterThanOrEqual(200);
            expect(res.status, where).toBeLessThan(500);
          },
        ),
        { seed: SEED, numRuns: RAW_RUNS, endOnFailure: true },
      );
    } finally {
      await server.close();
    }
  }, 120_000);
});
