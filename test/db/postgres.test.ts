import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openPostgres } from '../../gateway/db/postgres/database.ts';
import { sql, workspaceRows } from '../../gateway/db/types.ts';
import type { Transaction } from '../../gateway/domain/index.ts';
import { reserveSpend, sumSpend } from '../../gateway/repositories/transactions.ts';
import { freshPostgresSchema, openTestDb } from '../support/dialects.ts';
import { dbContract } from './contract.ts';

// The same contract as the SQLite file, on PostgreSQL (TEST_POSTGRES_URL), in a schema of its own
// that is dropped afterwards. An unreachable server fails the suite with a message saying so.
dbContract('postgres', () => openTestDb('postgres'));

describe('postgres: two replicas (two pools) on one schema', () => {
  it('a workspace scope serialises read-then-write across replicas, pipelined writes included', async () => {
    // The shape of admission: read the workspace's spend, then reserve with two statements sent at
    // once. The lock must be taken inside each transaction, before its read (a lock sent ahead of
    // BEGIN is released at once, and 11 of 60 get through: the bug this guards).
    const fresh = await freshPostgresSchema();
    const a = await openPostgres({ url: fresh.url });
    const b = await openPostgres({ url: fresh.url, migrate: false });
    try {
      const ws = 'ws_replicated';
      const spent = sql('SELECT coalesce(sum(pending), 0) FROM spend_buckets WHERE workspace_id = ?', (r) =>
        Number(r[0]),
      );
      const reserve =
        sql(`INSERT INTO spend_buckets (workspace_id, category, currency, minute, pending, posted)
        VALUES (?, 'c', 'USD', 0, 1000, 0)
        ON CONFLICT (workspace_id, minute, category, currency, shard) DO UPDATE SET pending = spend_buckets.pending + 1000`);
      const note = sql(`INSERT INTO audit_events (id, workspace_id, actor_type, action, data, created_at)
        VALUES (?, ?, 'system', 'reserved', '{}', 0)`);
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 ? a : b).transaction({ workspaceId: ws }, async (tx) => {
            if (((await tx.get(spent, [ws])) ?? 0) + 1000 > 10_000) return false;
            await Promise.all([tx.run(reserve, [ws]), tx.run(note, [`aud_${i}`, ws])]);
            return true;
          }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(10);
      expect(await a.reader.get(spent, [ws])).toBe(10_000);
    } finally {
      await a.close();
      await b.close();
      await fresh.drop();
    }
  });
});

describe("postgres: a workspace's hot rows (spend buckets, roll-ups) across lanes and replicas", () => {
  it('one busy workspace has several batches in flight, each adding to its own counter rows; every amount counts once', async () => {
    const fresh = await freshPostgresSchema();
    const a = await openPostgres({ url: fresh.url });
    const b = await openPostgres({ url: fresh.url, migrate: false });
    try {
      const ws = 'ws_hot';
      const t = {
        workspaceId: ws,
        businessCategory: 'retail',
        currency: 'USD',
        createdAt: 60_000,
        amount: 7,
      };
      let inFlight = 0;
      let most = 0;
      const slow = sql('SELECT pg_sleep(0.005)');
      // Requests arriving one after another (a millisecond apart) while earlier batches commit.
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 120; i++) {
        writes.push(
          (i % 2 ? a : b).transaction(workspaceRows(ws), async (tx) => {
            most = Math.max(most, ++inFlight);
            try {
              await reserveSpend(tx, t as Transaction);
              await tx.run(slow);
            } finally {
              inFlight--;
            }
          }),
        );
        await sleep(1);
      }
      await Promise.all(writes);
      // Two replicas, and lanes within each: more than one batch of the workspace at a time.
      expect(most).toBeGreaterThan(2);
      const shards = await a.reader.all(
        sql('SELECT shard, pending FROM spend_buckets WHERE workspace_id = ? ORDER BY shard', (r) => ({
          shard: Number(r[0]),
          pending: Number(r[1]),
        })),
        [ws],
      );
      expect(shards.length).toBeGreaterThan(2);
      expect(shards.every((row) => row.shard > 0)).toBe(true);
      const totals = await sumSpend(a.reader, { workspaceId: ws, since: 0, currency: 'USD' });
      expect(totals).toEqual({ pending: 120 * 7, posted: 0 });
    } finally {
      await a.close();
      await b.close();
      await fresh.drop();
    }
  });
});

describe('postgres: hot-row writes of many workspaces', () => {
  it('load spread over eight workspaces shares batches with one another instead of a batch per workspace', async () => {
    const fresh = await freshPostgresSchema();
    const batches: number[] = [];
    const db = await openPostgres({ url: fresh.url, onBatch: (size) => batches.push(size) });
    try {
      const workspaces = Array.from({ length: 8 }, (_, i) => `ws_spread_${i}`);
      // 120 writes arriving in one turn of the event loop, round-robin over the workspaces.
      await Promise.all(
        Array.from({ length: 120 }, (_, i) => {
          const workspaceId = workspaces[i % workspaces.length] as string;
          const t = {
            workspaceId,
            businessCategory: 'retail',
            currency: 'USD',
            createdAt: 60_000,
            amount: 3,
          };
          return db.transaction(workspaceRows(workspaceId), (tx) => reserveSpend(tx, t as Transaction));
        }),
      );
      // One transaction for all of them, as for 120 writes of one workspace (a batch per workspace
      // made eight transactions here, each waiting for a connection of the pool).
      expect(batches).toEqual([120]);
      for (const workspaceId of workspaces) {
        expect(await sumSpend(db.reader, { workspaceId, since: 0, currency: 'USD' })).toEqual({
          pending: 15 * 3,
          posted: 0,
        });
      }
    } finally {
      await db.close();
      await fresh.drop();
    }
  });
});

describe('postgres: hot-row lanes on a saturated event loop', () => {
  /**
   * One write starts a batch; three groups of ten follow, each in its own turn of the event loop
   * while that batch commits. The batch sizes say which lanes took them.
   */
  async function arrivals(headroom: boolean): Promise<number[]> {
    const fresh = await freshPostgresSchema();
    const batches: number[] = [];
    const db = await openPostgres({
      url: fresh.url,
      onBatch: (size) => batches.push(size),
      headroom: () => headroom,
    });
    try {
      const write = () =>
        db.transaction(workspaceRows('ws_lanes'), (tx) =>
          reserveSpend(tx, {
            workspaceId: 'ws_lanes',
            businessCategory: 'retail',
            currency: 'USD',
            createdAt: 60_000,
            amount: 1,
          } as Transaction),
        );
      const writes = [write()];
      for (let group = 0; group < 3; group++) {
        await new Promise((resolve) => setImmediate(resolve));
        for (let i = 0; i < 10; i++) writes.push(write());
      }
      await Promise.all(writes);
      expect(await sumSpend(db.reader, { workspaceId: 'ws_lanes', since: 0, currency: 'USD' })).toEqual({
        pending: 31,
        posted: 0,
      });
      return batches;
    } finally {
      await db.close();
      await fresh.drop();
    }
  }

  it('opens another lane beside a committing batch while the loop has time to spare', async () => {
    expect(await arrivals(true)).toEqual([1, 10, 10, 10]);
  });

  it('sends every write to the first lane once the loop is saturated: one batch while one commits', async () => {
    expect(await arrivals(false)).toEqual([1, 30]);
  });

  it('batches unscoped writes of one turn together, and on a saturated loop behind the one committing', async () => {
    const insert = sql(`INSERT INTO audit_events (id, workspace_id, actor_type, action, data, created_at)
      VALUES (?, 'ws_unscoped', 'system', 'noted', '{}', 0)`);
    const count = sql(`SELECT count(*) FROM audit_events WHERE workspace_id = 'ws_unscoped'`, (r) =>
      Number(r[0]),
    );
    for (const headroom of [true, false]) {
      const fresh = await freshPostgresSchema();
      const events: (number | 'first committed')[] = [];
      const db = await openPostgres({
        url: fresh.url,
        onBatch: (size) => events.push(size),
        headroom: () => headroom,
      });
      try {
        let n = 0;
        const write = () => db.transaction({}, (tx) => tx.run(insert, [`ev_${headroom}_${n++}`]));
        // Twenty in one turn: one batch (they went to two lanes in turn, two batches of ten).
        const first = Array.from({ length: 20 }, write);
        const firstDone = Promise.all(first).then(() => events.push('first committed'));
        await new Promise((resolve) => setImmediate(resolve));
        // Ten more while it commits: another lane's batch at once with time to spare; without, the
        // first lane's next batch, once the first has committed.
        const more = Array.from({ length: 10 }, write);
        await Promise.all([firstDone, ...more]);
        expect(events).toEqual(headroom ? [20, 10, 'first committed'] : [20, 'first committed', 10]);
        expect(await db.reader.get(count)).toBe(30);
      } finally {
        await db.close();
        await fresh.drop();
      }
    }
  });
});

describe('postgres: a connection terminated by the server (DESIGN §8)', () => {
  const pid = sql('SELECT pg_backend_pid()', (r) => Number(r[0]));
  const count = sql('SELECT count(*) FROM audit_events WHERE workspace_id = ?', (r) => Number(r[0]));
  const note = sql(`INSERT INTO audit_events (id, workspace_id, actor_type, action, data, created_at)
    VALUES (?, 'ws_lost', 'system', 'noted', '{}', 0)`);

  it('a transaction whose connection dies before COMMIT runs again on a fresh one, and commits once', async () => {
    const fresh = await freshPostgresSchema();
    const db = await openPostgres({ url: fresh.url });
    const killer = await openPostgres({ url: fresh.url, migrate: false });
    try {
      let runs = 0;
      const result = await db.transaction({ workspaceId: 'ws_lost' }, async (tx) => {
        runs++;
        await tx.run(note, [`aud_lost_${runs}`]);
        if (runs === 1) {
          // The server ends this very backend mid-transaction, as a failover or an operator does.
          const own = await tx.get(pid);
          await killer.reader.get(sql('SELECT pg_terminate_backend(?)'), [own]);
          await tx.get(pid);
        }
        return runs;
      });
      expect(result).toBe(2);
      // The first attempt's write went with its connection; the second committed.
      expect(await db.reader.get(count, ['ws_lost'])).toBe(1);
    } finally {
      await db.close();
      await killer.close();
      await fresh.drop();
    }
  });

  it('a pooled read whose connection was terminated is read again; the pool serves on', async () => {
    const fresh = await freshPostgresSchema();
    const db = await openPostgres({ url: fresh.url, max: 1 });
    const killer = await openPostgres({ url: fresh.url, migrate: false });
    try {
      for (let round = 0; round < 5; round++) {
        const own = await db.reader.get(pid);
        await killer.reader.get(sql('SELECT pg_terminate_backend(?)'), [own]);
        // The one pooled connection is gone: the read reconnects instead of failing.
        expect(await db.reader.get(count, ['ws_lost'])).toBe(0);
      }
    } finally {
      await db.close();
      await killer.close();
      await fresh.drop();
    }
  });

  it('a server that cannot be reached answers DATABASE_UNAVAILABLE, without hanging', async () => {
    const db = await openPostgres({ url: 'postgres://postgres@127.0.0.1:1/none', migrate: false });
    try {
      const started = Date.now();
      await expect(db.reader.get(pid)).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
      await expect(db.transaction({}, (tx) => tx.get(pid))).rejects.toMatchObject({
        code: 'DATABASE_UNAVAILABLE',
      });
      await expect(db.ping()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await db.close();
    }
  });
});
