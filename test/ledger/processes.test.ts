import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { type Replica, send, startReplica } from '../replicas/replicas.ts';
import { freshDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/dialects.ts';
import {
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { until } from '../support/until.ts';
import { rebuildLog } from './support.ts';

/** A replica whose sequencer ran once at start and then not for an hour: what it commits waits. */
const IDLE = { LEDGER_SEQUENCE_MS: '3600000' };
const FAST = { LEDGER_SEQUENCE_MS: '100' };

// DESIGN §9: nothing committed is left out of the log, appended twice, reordered or lost, whatever
// process dies when; what was committed before a crash is appended after it. Real processes, kill -9.
describe.each(['sqlite', 'postgres'] as const)('the sequencer across kill -9 on %s', (dialect) => {
  let db: TestDatabase;
  let upstream: Upstream;
  let admin: TestGateway;
  let tenant: Tenant;
  let shop: string;
  const running: Replica[] = [];

  beforeAll(async () => {
    db = await freshDatabase(dialect);
    upstream = await startUpstream();
    admin = await startTestGateway({ databaseUrl: db.url, realClock: true });
    tenant = await createTenant(admin, { name: `Crash ${dialect}` });
    shop = (await registerHttpBusiness(admin, upstream.url)).id;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(running.map((r) => r.kill()));
    await admin?.dispose();
    await upstream?.close();
    await db?.drop();
  });

  const start = async (env: Record<string, string>) => {
    const replica = await startReplica(db.url, env);
    running.push(replica);
    return replica;
  };
  const execute = (replica: Replica, sku: string) =>
    send(replica.url, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: shop, request: { sku, amount_cents: 1 } },
    }).catch(() => ({ status: 0, body: {} as Record<string, unknown> }));
  const waiting = () =>
    admin.db.reader.get(
      sql('SELECT count(*) FROM ledger_queue WHERE workspace_id = ?', (r) => Number(r[0])),
      [tenant.workspaceId],
    );
  /** The log rebuilt from its entries holds every receipt of the workspace, each once, and no other. */
  const logHoldsEveryReceiptOnce = async (via: Replica) => {
    const keys = createLocalJWKSet(
      (await send(via.url, 'GET', '/.well-known/warden-keys')).body as unknown as JSONWebKeySet,
    );
    const log = await rebuildLog((path) => send(via.url, 'GET', path, { key: tenant.adminToken }), keys);
    const logged = log.entries.flatMap((e) => (e.kind === 'receipt' ? [e.jws] : []));
    const stored = await admin.db.reader.all(
      sql('SELECT jws FROM receipts WHERE workspace_id = ?', (r) => r[0] as string),
      [tenant.workspaceId],
    );
    expect(new Set(logged).size).toBe(logged.length);
    expect([...logged].sort()).toEqual([...stored].sort());
    return logged.length;
  };

  it('entries committed and not yet appended when the process dies are all appended after restart, once', async () => {
    const idle = await start(IDLE);
    // Its one run at start appends what was waiting (the tenant's audit events), then it sleeps.
    await until(async () => (await waiting()) === 0, 10_000, 'the run at start');
    await sleep(200);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => execute(idle, `idle-${i}`)));
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    expect(await waiting()).toBeGreaterThanOrEqual(30);
    await idle.kill();
    expect(await waiting()).toBeGreaterThanOrEqual(30);
    const after = await start(FAST);
    await until(async () => (await waiting()) === 0, 10_000, 'the backlog appended after restart');
    expect(await logHoldsEveryReceiptOnce(after)).toBe(30);
    await after.stop();
  }, 60_000);

  it('a clean stop appends what its last requests committed: nothing is left for the next start', async () => {
    const idle = await start(IDLE);
    await until(async () => (await waiting()) === 0, 10_000, 'the run at start');
    await sleep(200);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => execute(idle, `stop-${i}`)));
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    expect(await waiting()).toBeGreaterThanOrEqual(20);
    await idle.stop();
    expect(await waiting()).toBe(0);
    const after = await start(IDLE);
    expect(await logHoldsEveryReceiptOnce(after)).toBe(50);
    await after.stop();
  }, 60_000);

  it('killed again and again while executing and sequencing: in the end every receipt is in the log once', async () => {
    for (let round = 0; round < 3; round++) {
      const replica = await start(FAST);
      const load = Promise.all(Array.from({ length: 40 }, (_, i) => execute(replica, `r${round}-${i}`)));
      await sleep(150 + round * 120);
      await replica.kill();
      await load;
    }
    const last = await start(FAST);
    await until(async () => (await waiting()) === 0, 10_000, 'the backlog appended after the last restart');
    expect(await logHoldsEveryReceiptOnce(last)).toBeGreaterThanOrEqual(30);
    await last.stop();
  }, 90_000);

  it.runIf(dialect === 'postgres')(
    'one sequencer per log across replicas: a dead holder blocks nobody for long, a killed replica is taken over',
    async () => {
      const [a, b] = [await start(FAST), await start(FAST)];
      // Someone holds the log's sequencing lock (as a replica in the middle of a batch would).
      const holder = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
      const [{ pid }] = await holder.unsafe<[{ pid: number }]>(
        `SELECT pg_backend_pid() AS pid, pg_advisory_lock(hashtextextended($1::text, 1))`,
        [`ledger:${tenant.workspaceId}`],
      );
      const locked = await Promise.all(
        Array.from({ length: 20 }, (_, i) => execute(i % 2 ? a : b, `held-${i}`)),
      );
      expect(locked.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
      await sleep(800);
      // Both replicas tried (every 50 ms) and neither appended: the log has one sequencer at a time.
      expect(await waiting()).toBeGreaterThanOrEqual(20);
      // The holder dies (its connection is terminated, as a killed replica's is): taken over at once.
      const killer = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
      await killer.unsafe('SELECT pg_terminate_backend($1)', [pid]);
      await killer.end();
      await holder.end({ timeout: 1 }).catch(() => {});
      const took = await until(async () => (await waiting()) === 0, 5_000, 'the log taken over');
      expect(took).toBeLessThan(5_000);

      // A replica killed in the middle of the load: the other appends everything within seconds.
      const load = Promise.all(Array.from({ length: 80 }, (_, i) => execute(i % 2 ? a : b, `kill-${i}`)));
      await sleep(300);
      await a.kill();
      const answers = await load;
      // Every request to the survivor succeeded; the dead one's ended as they ended.
      expect(answers.filter((_, i) => i % 2 === 0).map((r) => r.status)).toEqual(Array(40).fill(200));
      await until(
        async () => (await waiting()) === 0,
        5_000,
        'the survivor appending what the dead one left',
      );
      await logHoldsEveryReceiptOnce(b);
    },
    90_000,
  );
});
