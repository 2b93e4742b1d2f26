import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conn, Db } from '../../gateway/db/types.ts';
import { GatewayError } from '../../gateway/domain/errors.ts';
import type { AgentPrincipal } from '../../gateway/middleware/auth/index.ts';
import { rateLimit } from '../../gateway/middleware/rate-limit/index.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  addAgentKey,
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

describe('rateLimit', () => {
  const agent: AgentPrincipal = {
    workspaceId: 'ws_1',
    agentKeyId: 'key_1',
    agentId: 'a',
    scopes: ['execute'],
    policyName: null,
  };
  function app(limit: number, now: () => number) {
    const counts = new Map<string, number>();
    const seen: string[] = [];
    // The counter's statement answered from memory: this suite is about the middleware.
    const conn: Conn = {
      dialect: 'sqlite',
      all: async () => [],
      run: async () => 0,
      async get(_statement, params = []) {
        const id = `${String(params[0])}@${String(params[1])}`;
        seen.push(id);
        const n = (counts.get(id) ?? 0) + 1;
        counts.set(id, n);
        return n as never;
      },
    };
    const db: Db = {
      dialect: 'sqlite',
      reader: conn,
      transaction: (_scope, fn) => fn(conn),
      ping: async () => {},
      close: async () => {},
    };
    const hono = new Hono<{ Variables: { agent: AgentPrincipal } }>();
    hono.use(async (c, next) => {
      c.set('agent', agent);
      await next();
    });
    hono.use(rateLimit({ deps: { db, clock: now }, limit }));
    hono.get('/', (c) => c.text('ok'));
    hono.onError((err, c) =>
      err instanceof GatewayError
        ? c.json({ code: err.code, details: err.details }, err.status, err.headers)
        : c.text('boom', 500),
    );
    return { hono, seen };
  }

  it('is off at 0: nothing is counted', async () => {
    const { hono, seen } = app(0, () => 0);
    for (let i = 0; i < 5; i++) expect((await hono.request('/')).status).toBe(200);
    expect(seen).toEqual([]);
  });

  it('counts per key per calendar minute; over the limit is 429 with the seconds to the next minute', async () => {
    let now = Date.parse('2026-11-24T12:00:15.200Z');
    const { hono, seen } = app(2, () => now);
    expect((await hono.request('/')).status).toBe(200);
    expect((await hono.request('/')).status).toBe(200);
    const refused = await hono.request('/');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Retry-After')).toBe('45');
    expect(await refused.json()).toEqual({
      code: 'RATE_LIMITED',
      details: { limit: 2, retryAfterSeconds: 45 },
    });
    expect(seen[0]).toBe(`key_1@${Date.parse('2026-11-24T12:00:00Z')}`);
    now = Date.parse('2026-11-24T12:00:59.999Z');
    expect((await hono.request('/')).headers.get('Retry-After')).toBe('1');
    now = Date.parse('2026-11-24T12:01:00Z');
    expect((await hono.request('/')).status).toBe(200);
  });
});

// Through the real routes and the real store of each dialect: the counter is in the database.
describe.each(DIALECTS)('RATE_LIMIT_PER_MINUTE on /agp (%s)', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { RATE_LIMIT_PER_MINUTE: '3' }, dialect });
    tenant = await createTenant(gw);
    await registerEcho(gw);
  });
  afterAll(async () => gw.dispose());

  it('lets the limit through, then answers 429 RATE_LIMITED with Retry-After and the envelope', async () => {
    gw.now.value = Date.parse('2026-11-24T12:00:20Z');
    for (let i = 0; i < 3; i++) {
      expect((await call(gw, 'GET', '/agp/businesses', { key: tenant.agentKey })).status).toBe(200);
    }
    const refused = await call(gw, 'POST', '/agp/discover', {
      key: tenant.agentKey,
      body: { businessId: 'echo' },
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Retry-After')).toBe('40');
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', requestId: expect.any(String) });
    expect(typeof refused.body.error).toBe('string');
    // Another key has its own count; the next minute starts afresh.
    const other = await addAgentKey(gw, tenant, 'rate-other');
    expect((await call(gw, 'GET', '/agp/businesses', { key: other })).status).toBe(200);
    gw.now.advance(40_000);
    expect((await call(gw, 'GET', '/agp/businesses', { key: tenant.agentKey })).status).toBe(200);
  });

  it('counts before the route runs and only after auth: a bad key is 401, not counted', async () => {
    gw.now.value = Date.parse('2026-11-24T12:05:00Z');
    expect((await call(gw, 'GET', '/agp/businesses', { key: 'wk_nope' })).status).toBe(401);
    const key = await addAgentKey(gw, tenant, 'rate-burst');
    const results = await Promise.all(
      Array.from({ length: 12 }, () => call(gw, 'GET', '/agp/businesses', { key })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(results.filter((r) => r.status === 429)).toHaveLength(9);
  });
});
