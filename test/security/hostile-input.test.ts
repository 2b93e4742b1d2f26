import { request as rawRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, issuePaths } from '../api/envelope.ts';
import {
  call,
  createTenant,
  listen,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/** Catastrophic for a backtracking engine (ReDoS), linear for RE2 (issue 8). */
const EVIL = [
  { field: 'a', pattern: '^(a|a)+$', input: `${'a'.repeat(50_000)}!` },
  { field: 'aa', pattern: '^(a|aa)+$', input: `${'a'.repeat(50_000)}!` },
  { field: 'd', pattern: '^\\d*\\d*\\d*\\d*\\d*\\d*\\d*\\d*$', input: `${'1'.repeat(50_000)}x` },
  { field: 'w', pattern: '^(\\w+\\s?)*$', input: `${'ab '.repeat(20_000)}!` },
];

describe('hostile input', () => {
  let gw: TestGateway;
  let attacker: Tenant;
  let victim: Tenant;
  let echo: string;

  beforeAll(async () => {
    gw = await startTestGateway({ realClock: true });
    attacker = await createTenant(gw, { name: 'Attacker' });
    victim = await createTenant(gw, { name: 'Victim' });
    echo = await registerEcho(gw);
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: attacker.adminToken,
      body: {
        rules: EVIL.map((e, i) => ({
          id: `evil-${i}`,
          priority: i + 1,
          conditions: [{ field: e.field, op: 'matches', value: e.pattern }],
          action: 'reject',
          reason: 'matched',
        })),
      },
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => {
    await gw.dispose();
  });

  const evilRequest = () => ({
    sku: 'sticker',
    amount_cents: 50,
    ...Object.fromEntries(EVIL.map((e) => [e.field, e.input])),
  });

  describe('matches runs in linear time: no workspace stalls another', () => {
    it('adversarial patterns against long inputs answer in milliseconds while another workspace is served', async () => {
      const victimTimes: number[] = [];
      const timed = async (fn: () => Promise<{ status: number }>, into?: number[]) => {
        const started = performance.now();
        const res = await fn();
        into?.push(performance.now() - started);
        return res;
      };
      const started = performance.now();
      const [attacks, served] = await Promise.all([
        Promise.all(
          Array.from({ length: 5 }, () =>
            timed(() =>
              call(gw, 'POST', '/agp/execute', {
                key: attacker.agentKey,
                body: { businessId: echo, request: evilRequest() },
              }),
            ),
          ),
        ),
        Promise.all(
          Array.from({ length: 20 }, () =>
            timed(
              () =>
                call(gw, 'POST', '/agp/execute', {
                  key: victim.agentKey,
                  body: { businessId: echo, request: { sku: 'sticker', quantity: 1 } },
                }),
              victimTimes,
            ),
          ),
        ),
      ]);
      const elapsed = performance.now() - started;
      // None of the inputs matches, so no rule fires and the attacker's executes go through.
      for (const res of attacks) expect(res.status).toBe(200);
      for (const res of served) expect(res.status).toBe(200);
      // A backtracking engine needs seconds for 30 characters of these and hours for 50,000.
      // Generous bounds for a loaded CI machine; `npm run bench` measures the real cost.
      expect(elapsed).toBeLessThan(5_000);
      expect(Math.max(...victimTimes)).toBeLessThan(5_000);
    });

    it('simulate evaluates the same patterns just as cheaply', async () => {
      const started = performance.now();
      const res = await call(gw, 'POST', '/v1/policies/default/simulate', {
        key: attacker.adminToken,
        body: { businessId: echo, request: evilRequest() },
      });
      expect(res.status).toBe(200);
      expect(res.body.decision).toMatchObject({ outcome: 'auto_approve' });
      expect(performance.now() - started).toBeLessThan(2_000);
    });

    it('a pattern no linear-time engine can run is refused at PUT, with its path', async () => {
      for (const pattern of ['(a)\\1', '^(?=admin)', '(?<!x)y']) {
        const res = await call(gw, 'PUT', '/v1/policies/refused', {
          key: attacker.adminToken,
          body: {
            rules: [
              {
                id: 'r',
                conditions: [{ field: 'sku', op: 'matches', value: pattern }],
                action: 'reject',
                reason: 'no',
              },
            ],
          },
        });
        expectError(res, 400, 'VALIDATION_ERROR');
        expect(issuePaths(res)).toContain('rules.0.conditions.0.value');
      }
    });
  });

  describe('bodies RFC 8785 cannot canonicalise are 400 with the path, never 5xx', () => {
    const routes = ['/agp/execute', '/agp/execute/prepare', '/agp/query'];
    const raw = (path: string, body: string, key = victim.agentKey, method = 'POST') =>
      call(gw, method, path, {
        key,
        rawBody: body,
        headers: { 'Content-Type': 'application/json' },
      });

    it.each(routes)(
      '%s: nesting 10,000 deep (arrays, objects, mixed) is 400 naming the limit',
      async (path) => {
        const bodies = [
          `{"businessId":"echo","request":{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`,
          `{"businessId":"echo","request":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`,
          `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
        ];
        for (const body of bodies) {
          const res = await raw(path, body);
          expectError(res, 400, 'VALIDATION_ERROR', /deeper than 64 levels/);
          expect(issuePaths(res)[0]).toMatch(/^(request\.|0\.)/);
        }
      },
    );

    it.each(routes)('%s: a lone surrogate or 1e400 is 400 with its path', async (path) => {
      const cases: [string, string][] = [
        ['{"businessId":"echo","request":{"note":"\\ud800"}}', 'request.note'],
        ['{"businessId":"echo","request":{"items":[1,{"n":"x\\udfff"}]}}', 'request.items.1.n'],
        ['{"businessId":"echo","request":{"\\ud83d":1}}', 'request.\ud83d'],
        ['{"businessId":"echo","request":{"amount_cents":1e400}}', 'request.amount_cents'],
        ['{"businessId":"echo","request":{"n":-1e400}}', 'request.n'],
      ];
      for (const [body, at] of cases) {
        const res = await raw(path, body);
        expectError(res, 400, 'VALIDATION_ERROR', /canonicalised/);
        expect(issuePaths(res)).toEqual([at]);
      }
    });

    it('a well-formed surrogate pair (an emoji) is fine', async () => {
      const res = await raw(
        '/agp/execute',
        '{"businessId":"echo","request":{"sku":"sticker","note":"\\ud83d\\ude00"}}',
      );
      expect(res.status).toBe(200);
    });

    it('the policy and admin APIs refuse them the same way', async () => {
      const res = await raw(
        '/v1/policies/deep',
        `{"rules":${'['.repeat(1000)}${']'.repeat(1000)}}`,
        attacker.adminToken,
        'PUT',
      );
      expectError(res, 400, 'VALIDATION_ERROR', /deeper than 64/);
    });
  });

  describe('in confirm mode too', () => {
    let confirm: TestGateway;
    let tenant: Tenant;
    beforeAll(async () => {
      confirm = await startTestGateway({ env: { AGENR_EXECUTE_POLICY: 'confirm' } });
      tenant = await createTenant(confirm);
      await registerEcho(confirm);
    });
    afterAll(async () => {
      await confirm.dispose();
    });

    it.each(['/agp/execute', '/agp/execute/prepare'])('%s: 400, not a 403 or a 500', async (path) => {
      const res = await call(confirm, 'POST', path, {
        key: tenant.agentKey,
        rawBody: '{"businessId":"echo","request":{"note":"\\ud800"}}',
        headers: { 'Content-Type': 'application/json', 'X-Confirmation-Token': 'wct_x' },
      });
      expectError(res, 400, 'VALIDATION_ERROR');
    });
  });

  describe('requests Node cannot parse get the JSON envelope too', () => {
    const send = (url: string, headers: Record<string, string>) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const req = rawRequest(`${url}/agp/businesses`, { headers }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end();
      });

    it('headers over the limit answer 431 HEADERS_TOO_LARGE as JSON', async () => {
      const server = await listen(gw);
      try {
        const res = await send(server.url, { 'x-padding': 'x'.repeat(20_000) });
        expect(res.status).toBe(431);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        const body = JSON.parse(res.body) as Record<string, unknown>;
        expect(body).toMatchObject({ code: 'HEADERS_TOO_LARGE', error: expect.any(String) });
        expect(body.requestId).toBe(res.headers['x-request-id']);
        // The server is fine afterwards.
        expect((await send(server.url, { authorization: `Bearer ${victim.agentKey}` })).status).toBe(200);
      } finally {
        await server.close();
      }
    });
  });
});
