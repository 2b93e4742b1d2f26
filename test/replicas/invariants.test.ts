import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresSchema, type TestDatabase } from '../support/dialects.ts';
import {
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { type Replica, send, startReplica } from './replicas.ts';

// Two gateway processes behind no load balancer but the test itself, sharing one PostgreSQL schema
// (DESIGN §8: every invariant holds across replicas exactly as in one process).
describe('two replicas on one PostgreSQL database', () => {
  let db: TestDatabase;
  let upstream: Upstream;
  let replicas: Replica[] = [];
  let admin: TestGateway;
  let tenant: Tenant;
  let shop: string;

  beforeAll(async () => {
    db = await freshPostgresSchema();
    // A slow-ish business, so requests on both replicas overlap while the first is in flight.
    upstream = await startUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'succeeded', data: { ok: true } }));
      }, 50);
    });
    // Both start at once on an empty schema: their migrations run one after the other.
    replicas = await Promise.all([
      startReplica(db.url, { AGENR_EXECUTE_POLICY: 'confirm' }),
      startReplica(db.url, { AGENR_EXECUTE_POLICY: 'confirm' }),
    ]);
    // Tenants and businesses are made through the services, on the same database.
    admin = await startTestGateway({ databaseUrl: db.url, realClock: true });
    tenant = await createTenant(admin);
    shop = (await registerHttpBusiness(admin, upstream.url)).id;
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await admin?.dispose();
    await upstream?.close();
    await db?.drop();
  });

  /** The i-th request goes to replica i mod 2. */
  const on = (i: number) => (replicas[i % 2] as Replica).url;
  const prepare = async (body: unknown, key = tenant.agentKey, i = 0) => {
    const res = await send(on(i), 'POST', '/agp/execute/prepare', { key, body });
    expect(res.status).toBe(200);
    return res.body.confirmationToken as string;
  };

  it('both replicas are ready on PostgreSQL', async () => {
    for (const replica of replicas) {
      const ready = await send(replica.url, 'GET', '/ready');
      expect(ready).toMatchObject({ status: 200, body: { status: 'ready', database: 'postgres' } });
    }
  });

  it('one token, 40 executes split over both replicas: one admission, one upstream call', async () => {
    const body = { businessId: shop, request: { sku: 'replica-race', amount_cents: 10 } };
    const token = await prepare(body);
    const before = upstream.requests.length;
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(on(i), 'POST', '/agp/execute', {
          key: tenant.agentKey,
          body,
          headers: { 'x-confirmation-token': token },
        }),
      ),
    );
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 403);
    expect(admitted).toHaveLength(1);
    expect(refused).toHaveLength(39);
    for (const r of refused) expect(r.body.code).toBe('CONFIRMATION_INVALID');
    expect(upstream.requests.length - before).toBe(1);
  });

  it('a daily limit of 10,000 raced by 60 executes of 1,000 over both replicas: exactly 10,000 admitted', async () => {
    // Limits count every execute of the workspace (DESIGN §6): a workspace of its own.
    const own = await createTenant(admin, { name: 'Limited' });
    const put = await send(on(0), 'PUT', '/v1/policies/replicated', {
      key: own.adminToken,
      body: { spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }] },
    });
    expect(put.status).toBeLessThan(300);
    const key = (
      await send(on(1), 'POST', '/v1/keys', {
        key: own.adminToken,
        body: { agentId: 'limited', policy: 'replicated' },
      })
    ).body.key as string;
    // Confirm mode: each execute brings its own token, so only the limit decides.
    const bodies = Array.from({ length: 60 }, (_, i) => ({
      businessId: shop,
      request: { sku: `limit-${i}`, amount_cents: 1000 },
    }));
    const tokens = await Promise.all(bodies.map((body, i) => prepare(body, key, i)));
    const before = upstream.requests.length;
    const results = await Promise.all(
      bodies.map((body, i) =>
        send(on(i), 'POST', '/agp/execute', {
          key,
          body,
          headers: { 'x-confirmation-token': tokens[i] as string },
        }),
      ),
    );
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 403);
    expect(admitted.length * 1000).toBeLessThanOrEqual(10_000);
    expect(admitted.length * 1000).toBe(10_000);
    expect(refused).toHaveLength(50);
    for (const r of refused) expect(r.body.code).toBe('POLICY_REJECTED');
    expect(upstream.requests.length - before).toBe(10);
  });

  it('one idempotency key, 20 executes over both replicas: one execution, the rest replay or wait', async () => {
    const body = { businessId: shop, request: { sku: 'replica-idem', amount_cents: 10 } };
    const token = await prepare(body);
    const before = upstream.requests.length;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send(on(i), 'POST', '/agp/execute', {
          key: tenant.agentKey,
          body,
          headers: { 'x-confirmation-token': token, 'idempotency-key': 'replica-key-1' },
        }),
      ),
    );
    expect(upstream.requests.length - before).toBe(1);
    const ok = results.filter((r) => r.status === 200);
    const inProgress = results.filter((r) => r.status === 409);
    expect(ok.length + inProgress.length).toBe(20);
    expect(new Set(ok.map((r) => r.body.transactionId)).size).toBe(1);
    for (const r of inProgress) expect(r.body.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    // Once finished, either replica replays it.
    for (const i of [0, 1]) {
      const replay = await send(on(i), 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body,
        headers: { 'idempotency-key': 'replica-key-1' },
      });
      expect(replay.status).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body.transactionId).toBe(ok[0]?.body.transactionId);
    }
    expect(upstream.requests.length - before).toBe(1);
  });

  it('a key revoked or a policy changed through one replica counts on the other from its next request', async () => {
    // Each replica keeps keys, businesses and policy pointers in memory per config version: warm both.
    const own = await createTenant(admin, { name: 'Cached' });
    const created = await send(on(0), 'POST', '/v1/keys', {
      key: own.adminToken,
      body: { agentId: 'cached' },
    });
    const key = created.body.key as string;
    for (const i of [0, 1]) {
      expect((await send(on(i), 'GET', '/agp/businesses', { key })).status).toBe(200);
      expect(
        (await send(on(i), 'POST', '/agp/execute/prepare', { key, body: { businessId: shop, request: {} } }))
          .status,
      ).toBe(200);
    }
    // A policy that blocks this business's category, put through replica 0, refuses on replica 1.
    const put = await send(on(0), 'PUT', '/v1/policies/default', {
      key: own.adminToken,
      body: { categories: { block: ['retail'] } },
    });
    expect(put.status).toBe(201);
    const body = { businessId: shop, request: { sku: 'cached', amount_cents: 1 } };
    const token = (await send(on(1), 'POST', '/agp/execute/prepare', { key, body })).body
      .confirmationToken as string;
    const refused = await send(on(1), 'POST', '/agp/execute', {
      key,
      body,
      headers: { 'x-confirmation-token': token },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('POLICY_REJECTED');
    // The key revoked through replica 0 is refused by replica 1 at once.
    const revoked = await send(on(0), 'DELETE', `/v1/keys/${created.body.id as string}`, {
      key: own.adminToken,
    });
    expect(revoked.status).toBe(204);
    expect((await send(on(1), 'GET', '/agp/businesses', { key })).status).toBe(401);
    expect((await send(on(0), 'GET', '/agp/businesses', { key })).status).toBe(401);
  });
});
