import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresSchema, TEST_POSTGRES_URL, type TestDatabase } from '../support/dialects.ts';
import {
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { type HttpAnswer, type Replica, send, startReplica } from './replicas.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** What every request under a database fault may answer (issue 18): never a 500, never a hang. */
const CLEAN = new Set([200, 403, 503]);
const LIMIT = 20_000;
const AMOUNT = 100;

// DESIGN §8: a replica survives losing any of its database connections. The gateway runs as a real
// process reaching PostgreSQL through a TCP proxy the test can cut, with a name of its own in
// pg_stat_activity so the test terminates its connections and no other suite's.
describe('a replica that loses its PostgreSQL connections', () => {
  let db: TestDatabase & { schema: string };
  let proxy: TcpProxy;
  let upstream: Upstream;
  let replica: Replica;
  let admin: TestGateway;
  let killer: postgres.Sql;
  let limited: Tenant;
  let spare: Tenant;
  let shop: string;
  const applicationName = `warden_loss_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  /** How many times the business was asked to run each sku. */
  const calls = new Map<string, number>();

  beforeAll(async () => {
    db = await freshPostgresSchema();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(TEST_POSTGRES_URL).port || 5432) });
    upstream = await startUpstream((req, res) => {
      const sku = (JSON.parse(req.body) as { request?: { sku?: string } }).request?.sku ?? '';
      calls.set(sku, (calls.get(sku) ?? 0) + 1);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'succeeded', data: { sku } }));
      }, 5);
    });
    admin = await startTestGateway({ databaseUrl: db.url, realClock: true });
    limited = await createTenant(admin, { name: 'Limited' });
    spare = await createTenant(admin, { name: 'Spare' });
    shop = (await registerHttpBusiness(admin, upstream.url)).id;
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    viaProxy.searchParams.set('application_name', applicationName);
    replica = await startReplica(viaProxy.toString(), { RATE_LIMIT_PER_MINUTE: '1000000' });
    // The limit decides under the workspace's lock: the fault lands on the locked path too.
    const put = await send(replica.url, 'PUT', '/v1/policies/default', {
      key: limited.adminToken,
      body: { spending_limits: [{ id: 'daily', amount: LIMIT, interval: 'day' }] },
    });
    expect(put.status).toBeLessThan(300);
    killer = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  }, 60_000);

  afterAll(async () => {
    await replica?.stop();
    await killer?.end({ timeout: 1 });
    await admin?.dispose();
    await upstream?.close();
    await proxy?.close();
    await db?.drop();
  });

  let seq = 0;
  const execute = (tenant: Tenant, label: string): Promise<HttpAnswer & { sku: string }> => {
    const sku = `${label}-${seq++}`;
    return send(replica.url, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: shop, request: { sku, amount_cents: AMOUNT } },
    }).then((answer) => ({ ...answer, sku }));
  };

  /** `workers` clients executing back to back until `stop()`; `answers` fills as they answer. */
  function load(workers: number, label: string) {
    const answers: (HttpAnswer & { sku: string })[] = [];
    let stopped = false;
    const done = Promise.all(
      Array.from({ length: workers }, async () => {
        while (!stopped) answers.push(await execute(limited, label));
      }),
    );
    return {
      answers,
      /** Resolves once `n` answers are in (the machine may be slow: pace by progress, not by time). */
      async reached(n: number) {
        while (answers.length < n) {
          if (!replica.alive()) throw new Error(`the replica exited:\n${replica.output.join('\n')}`);
          await sleep(10);
        }
      },
      async stop() {
        stopped = true;
        await done;
        return answers;
      },
    };
  }

  const terminate = async () =>
    (
      await killer`select pg_terminate_backend(pid) as done from pg_stat_activity
        where application_name = ${applicationName}`
    ).length;

  it('five terminations of every connection under 32-connection load: up, clean answers, invariants hold', async () => {
    let terminated = 0;
    const running = load(32, 'kill');
    for (let round = 1; round <= 5; round++) {
      await running.reached(round * 20);
      terminated += await terminate();
    }
    await running.reached(6 * 20);
    const answers = await running.stop();

    expect(replica.alive(), replica.output.join('\n')).toBe(true);
    // The connections were really there to terminate, round after round.
    expect(terminated).toBeGreaterThanOrEqual(5);
    const unclean = answers.filter((a) => !CLEAN.has(a.status));
    expect(unclean.map((a) => [a.status, a.body])).toEqual([]);
    for (const a of answers.filter((a) => a.status === 503)) {
      expect(a.body.code).toBe('DATABASE_UNAVAILABLE');
      expect(a.headers['retry-after']).toBe('1');
    }
    for (const a of answers.filter((a) => a.status === 403)) expect(a.body.code).toBe('POLICY_REJECTED');

    // No double execute: every sku reached the business at most once, each 200 exactly once.
    expect([...calls.values()].filter((n) => n > 1)).toEqual([]);
    for (const a of answers.filter((a) => a.status === 200)) expect(calls.get(a.sku)).toBe(1);
    // Spend never over the limit: what counts (DESIGN §6) is what succeeded or may have.
    const [row] = await killer.unsafe(
      `select coalesce(sum(amount), 0)::int8 as spent from "${db.schema}".transactions
       where workspace_id = $1 and operation = 'execute'
         and status in ('succeeded', 'pending', 'unknown', 'pending_approval', 'queued')`,
      [limited.workspaceId],
    );
    expect(Number(row?.spent)).toBeLessThanOrEqual(LIMIT);
    // Everything the business ran is in the ledger (an outcome that could not be written stays
    // pending, for the orphan job to mark unknown).
    const ran = [...calls.keys()].filter((sku) => sku.startsWith('kill-'));
    const ledger = await killer.unsafe(
      `select request::jsonb->>'sku' as sku, status from "${db.schema}".transactions
       where workspace_id = $1 and operation = 'execute'`,
      [limited.workspaceId],
    );
    const status = new Map(ledger.map((r) => [r.sku as string, r.status as string]));
    for (const sku of ran) expect(['succeeded', 'pending', 'unknown']).toContain(status.get(sku));

    // And afterwards it serves normally.
    const after = await execute(spare, 'after');
    expect(after.status).toBe(200);
    expect((await send(replica.url, 'GET', '/ready')).status).toBe(200);
  }, 60_000);

  it('the database unreachable for 3 s: 503 while it is, ready and serving again after', async () => {
    const before = await execute(spare, 'cut-before');
    expect(before.status).toBe(200);

    proxy.cut();
    const cutAt = Date.now();
    const during = await Promise.all(Array.from({ length: 8 }, () => execute(spare, 'cut')));
    const ready = await send(replica.url, 'GET', '/ready');
    // Each answered while the database was still away, and cleanly.
    expect(Date.now() - cutAt).toBeLessThan(3_000);
    for (const a of during) {
      expect(a.status).toBe(503);
      expect(a.body.code).toBe('DATABASE_UNAVAILABLE');
    }
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('unavailable');
    // A health check is not a readiness check: the process is alive.
    expect((await send(replica.url, 'GET', '/health')).status).toBe(200);
    // Probes keep coming while it is away (each a failed connection attempt for the pool).
    while (Date.now() - cutAt < 3_000) {
      expect((await send(replica.url, 'GET', '/ready')).status).toBe(503);
      await sleep(100);
    }
    proxy.restore();

    // It reconnects by itself, within a couple of seconds (not after a driver backoff of 20 s).
    let readyAgain = 0;
    for (let i = 0; i < 20 && readyAgain !== 200; i++) {
      readyAgain = (await send(replica.url, 'GET', '/ready')).status;
      if (readyAgain !== 200) await sleep(100);
    }
    expect(readyAgain).toBe(200);
    const after = await execute(spare, 'cut-after');
    expect(after.status).toBe(200);
    expect(replica.alive(), replica.output.join('\n')).toBe(true);
    // None of the refused executes reached the business.
    for (const a of during) expect(calls.get(a.sku)).toBeUndefined();
  }, 30_000);
});
