import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { drizzle as libsqlDrizzle } from 'drizzle-orm/libsql';
import { migrate as libsqlMigrate } from 'drizzle-orm/libsql/migrator';
import { drizzle as pgDrizzle } from 'drizzle-orm/postgres-js';
import { migrate as pgMigrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../gateway/db/open.ts';
import { POSTGRES_MIGRATIONS, schemaFromUrl } from '../../gateway/db/postgres/migrate.ts';
import { sqlitePath } from '../../gateway/db/sqlite/database.ts';
import { SQLITE_MIGRATIONS } from '../../gateway/db/sqlite/migrate.ts';
import { type Conn, type Db, sql } from '../../gateway/db/types.ts';
import type { Transaction } from '../../gateway/domain/index.ts';
import { newId } from '../../gateway/ids.ts';
import { insertApproval, setApprovalStatus } from '../../gateway/repositories/approvals.ts';
import { summaryGroups } from '../../gateway/repositories/rollups.ts';
import {
  approve,
  claimUnknown,
  endParked,
  finish,
  getTransactionById,
  markOrphans,
  readmit,
} from '../../gateway/repositories/transactions.ts';
import { eachPage, OPEN_END, ROLLUP_PAGE } from '../../gateway/services/reporting/rollups.ts';
import { DIALECTS, type Dialect, freshDatabase, openTestDb, TEST_POSTGRES_URL } from '../support/dialects.ts';
import { rollupsAgainstBruteForce, seedLedger } from '../support/ledger-seed.ts';

/**
 * Issue 18: the per-hour rollups of the ledger, kept by triggers, are exactly what a full scan of
 * `transactions` computes: after a migration backfilled them, after every kind of status change,
 * and after many writers changed the same counters at once.
 */

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-24T12:00:00Z');
const WS = 'ws_rollups';

async function expectExact(conn: Conn, workspaceId = WS) {
  const { stored, scanned } = await rollupsAgainstBruteForce(conn, workspaceId);
  expect(scanned.length).toBeGreaterThan(0);
  expect(stored).toEqual(scanned);
}

const ids = (limit: number) =>
  sql(
    `SELECT id FROM transactions WHERE workspace_id = ? AND status = ? AND operation = 'execute' ORDER BY id LIMIT ${limit}`,
    (r) => r[0] as string,
  );
const idsOf = (conn: Conn, status: string, limit = 20) => conn.all(ids(limit), [WS, status]);
const txn = async (conn: Conn, id: string) => (await getTransactionById(conn, id)) as Transaction;

/** The migrations folder of this checkout up to (not including) the rollups migration. */
function migrationsBeforeRollups(dialect: Dialect): { folder: string; cleanup: () => void } {
  const from = dialect === 'sqlite' ? SQLITE_MIGRATIONS : POSTGRES_MIGRATIONS;
  const folder = mkdtempSync(join(tmpdir(), 'warden-migrations-'));
  cpSync(from, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag.endsWith('_transaction_rollups'));
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalPath, JSON.stringify(journal));
  return { folder, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

async function migrateBefore(dialect: Dialect, url: string): Promise<void> {
  const { folder, cleanup } = migrationsBeforeRollups(dialect);
  try {
    if (dialect === 'sqlite') {
      const client = createClient({ url: `file:${sqlitePath(url)}` });
      try {
        await libsqlMigrate(libsqlDrizzle(client), { migrationsFolder: folder });
      } finally {
        client.close();
      }
      return;
    }
    const schema = schemaFromUrl(url) ?? 'public';
    const client = postgres(TEST_POSTGRES_URL, {
      max: 1,
      onnotice: () => {},
      connection: { search_path: schema },
    });
    try {
      await pgMigrate(pgDrizzle(client), { migrationsFolder: folder, migrationsSchema: schema });
    } finally {
      await client.end({ timeout: 5 });
    }
  } finally {
    cleanup();
  }
}

describe.each(DIALECTS)('transaction rollups (issue 18) on %s', (dialect) => {
  it('the migration backfills the counters of the rows already there', async () => {
    const fresh = await freshDatabase(dialect);
    try {
      await migrateBefore(dialect, fresh.url);
      const before = await openDatabase(fresh.url, { migrate: false });
      try {
        await seedLedger(before, {
          workspaceId: WS,
          agentKeyId: 'key_1',
          count: 3_000,
          now: NOW,
          unshardedSpend: true,
          spanMs: 10 * DAY,
        });
      } finally {
        await before.close();
      }
      const db = await openDatabase(fresh.url);
      try {
        await expectExact(db.reader);
      } finally {
        await db.close();
      }
    } finally {
      await fresh.drop();
    }
  });

  describe('every status change moves its counters, in the statement that makes it', () => {
    let db: Db;
    let dispose: () => Promise<void>;
    beforeAll(async () => {
      ({ db, dispose } = await openTestDb(dialect));
      await seedLedger(db, {
        workspaceId: WS,
        agentKeyId: 'key_1',
        count: 2_000,
        now: NOW,
        spanMs: 5 * DAY,
        inFlightMs: 5 * DAY,
      });
      // A second workspace's rows never mix in.
      await seedLedger(db, {
        workspaceId: 'ws_other',
        agentKeyId: 'key_2',
        count: 500,
        now: NOW,
        spanMs: 5 * DAY,
        inFlightMs: 5 * DAY,
        offset: 7,
      });
      await expectExact(db.reader);
    });
    afterAll(() => dispose());
    const write = <T>(fn: (tx: Conn) => Promise<T>) => db.transaction({ workspaceId: WS }, fn);

    it('pending → succeeded and failed (the execute hot path)', async () => {
      const pending = await idsOf(db.reader, 'pending');
      expect(pending.length).toBeGreaterThan(4);
      await write(async (tx) => {
        for (const [i, id] of pending.entries()) {
          const settled = await finish(tx, {
            id,
            status: i % 2 ? 'succeeded' : 'failed',
            data: null,
            error: null,
            at: NOW,
            from: ['pending', 'unknown'],
          });
          expect(settled?.id).toBe(id);
        }
      });
      await expectExact(db.reader);
    });

    it('unknown → settled by a repeat (claimed back to pending, then finished) or by an admin', async () => {
      const unknown = await idsOf(db.reader, 'unknown');
      expect(unknown.length).toBeGreaterThan(4);
      const [claimed, ...rest] = unknown;
      await write(async (tx) => {
        expect(await claimUnknown(tx, WS, claimed as string, NOW)).toBeDefined();
      });
      await expectExact(db.reader);
      await write(async (tx) => {
        for (const id of [claimed as string, ...rest]) {
          const from = id === claimed ? (['pending', 'unknown'] as const) : (['unknown', 'unknown'] as const);
          expect(
            await finish(tx, { id, status: 'succeeded', data: null, error: null, at: NOW, from }),
          ).toBeDefined();
        }
      });
      await expectExact(db.reader);
    });

    it('parked → rejected and expired, with the approval changed before or after the transaction', async () => {
      const parked = await idsOf(db.reader, 'pending_approval', 6);
      expect(parked.length).toBe(6);
      await write(async (tx) => {
        for (const [i, id] of parked.entries()) {
          const t = await txn(tx, id);
          const status = i % 2 ? 'rejected' : 'expired';
          if (i < 3) await setApprovalStatus(tx, t.approvalId as string, status, NOW);
          expect(await endParked(tx, id, status, NOW, { outcome: 'approval', checks: [] })).toBeDefined();
          if (i >= 3) await setApprovalStatus(tx, t.approvalId as string, status, NOW);
        }
      });
      await expectExact(db.reader);
    });

    it('parked → approved → pending → succeeded', async () => {
      const parked = await idsOf(db.reader, 'pending_approval', 4);
      await write(async (tx) => {
        for (const id of parked) {
          const t = await txn(tx, id);
          await setApprovalStatus(tx, t.approvalId as string, 'approved', NOW);
          expect(await approve(tx, id, t.requestHash, NOW)).toBeDefined();
        }
      });
      await expectExact(db.reader);
      await write(async (tx) => {
        for (const id of parked) {
          await finish(tx, {
            id,
            status: 'succeeded',
            data: null,
            error: null,
            at: NOW,
            from: ['pending', 'unknown'],
          });
        }
      });
      await expectExact(db.reader);
    });

    it('queued → released into approval (a new approval named), and a policy refusal on release', async () => {
      const queued = await idsOf(db.reader, 'queued', 4);
      expect(queued.length).toBe(4);
      await write(async (tx) => {
        for (const [i, id] of queued.entries()) {
          const t = await txn(tx, id);
          if (i % 2) {
            expect(
              await endParked(tx, id, 'rejected', NOW, { outcome: 'reject', ruleId: 'daily', checks: [] }),
            ).toBeDefined();
            continue;
          }
          const approvalId = newId('approval');
          const parked = {
            ...t,
            status: 'pending_approval' as const,
            approvalId,
            releaseAt: null,
            updatedAt: NOW,
          };
          expect(await readmit(tx, parked, 'queued')).toBe(true);
          await insertApproval(
            tx,
            { id: approvalId, workspaceId: WS, transactionId: id, requestHash: t.requestHash },
            [
              {
                index: 0,
                role: 'admin',
                tier: 'standard',
                quorum: 1,
                timeoutSeconds: 60,
                onTimeout: 'reject',
              },
            ],
            NOW,
          );
        }
      });
      await expectExact(db.reader);
    });

    it('orphans: every pending execute at once becomes unknown (one statement, many rows)', async () => {
      // Make more pending rows first: unknown ones claimed back.
      const unknown = await db.reader.all(
        sql(
          `SELECT id FROM transactions WHERE workspace_id = ? AND status = 'unknown'`,
          (r) => r[0] as string,
        ),
        [WS],
      );
      await write(async (tx) => {
        for (const id of unknown) await claimUnknown(tx, WS, id, NOW - DAY);
      });
      const marked = await db.transaction({}, (tx) =>
        markOrphans(tx, NOW, NOW, {
          execute: { code: 'OUTCOME_UNKNOWN', message: 'lost' },
          read: { code: 'INTERRUPTED', message: 'lost' },
        }),
      );
      expect(marked.unknown).toBeGreaterThan(0);
      await expectExact(db.reader);
      await expectExact(db.reader, 'ws_other');
    });
  });

  it('concurrent writers on the same counters (two connections or pools) lose no update', async () => {
    // Two Db handles on one database: on PostgreSQL two pools whose transactions run at once,
    // on SQLite two writer connections taking turns on the file lock.
    const fresh = await freshDatabase(dialect);
    const a = await openDatabase(fresh.url);
    const b = await openDatabase(fresh.url, { migrate: false });
    try {
      await seedLedger(a, {
        workspaceId: WS,
        agentKeyId: 'key_1',
        count: 1_200,
        now: NOW,
        spanMs: 2 * 3_600_000,
      });
      await expectExact(a.reader);
      // Every pending and unknown execute is finished, each by both handles at once (one of the two
      // conditional updates moves it), scoped and unscoped, while more rows are written in the same
      // hours and the orphan sweep runs.
      const open = await a.reader.all(
        sql(
          `SELECT id, status FROM transactions WHERE workspace_id = ? AND status IN ('pending', 'unknown') AND operation = 'execute'`,
          (r) => ({ id: r[0] as string, status: r[1] as string }),
        ),
        [WS],
      );
      expect(open.length).toBeGreaterThan(20);
      const finishes = open.flatMap(({ id }, i) =>
        [a, b].map((db, j) =>
          db.transaction((i + j) % 2 ? { workspaceId: WS } : {}, (tx) =>
            finish(tx, {
              id,
              status: (i + j) % 3 ? 'succeeded' : 'failed',
              data: null,
              error: null,
              at: NOW,
              from: ['pending', 'unknown'],
            }),
          ),
        ),
      );
      const results = await Promise.all([
        ...finishes,
        seedLedger(b, {
          workspaceId: WS,
          agentKeyId: 'key_1',
          count: 600,
          now: NOW,
          spanMs: 2 * 3_600_000,
          offset: 1,
        }),
        a.transaction({}, (tx) =>
          markOrphans(tx, NOW, NOW, {
            execute: { code: 'OUTCOME_UNKNOWN', message: 'lost' },
            read: { code: 'INTERRUPTED', message: 'lost' },
          }),
        ),
      ]);
      // Each transaction finished exactly once.
      const finished = results.slice(0, finishes.length).filter((r) => r !== undefined);
      expect(finished.length).toBe(open.length);
      await expectExact(a.reader);
      const total = await a.reader.get(
        sql(
          `SELECT coalesce(sum(requests), 0) FROM transaction_rollups WHERE workspace_id = ? AND operation = 'execute'`,
          (r) => Number(r[0]),
        ),
        [WS],
      );
      const rows = await a.reader.get(
        sql(
          `SELECT count(*) FROM transactions WHERE workspace_id = ? AND operation = 'execute' AND status <> 'pending'`,
          (r) => Number(r[0]),
        ),
        [WS],
      );
      expect(total).toBe(rows);
    } finally {
      await a.close();
      await b.close();
      await fresh.drop();
    }
  });
});

describe.each(DIALECTS)('rollup pages (issue 18) on %s', (dialect) => {
  it('pages of the primary key cover every row once, a dense hour split across many of them', async () => {
    const { db, dispose } = await openTestDb(dialect);
    try {
      // 2,500 combinations in one hour (more than two pages), and a few in the hours around it.
      const row = (hour: number, agent: string, amount: number) =>
        `('${WS}', ${hour}, 'execute', '${agent}', 'shop', 'retail', 'USD', 'succeeded', 'posted', '', 0, '', 1, ${amount}, 1, 10, 1, 0)`;
      const rows = [
        ...Array.from({ length: 2_500 }, (_, i) => row(7_200_000, `agent-${String(i).padStart(5, '0')}`, i)),
        ...Array.from({ length: 30 }, (_, i) => row(3_600_000 * (i % 5), `early-${i}`, 1_000 + i)),
        ...Array.from({ length: 30 }, (_, i) => row(3_600_000 * (3 + (i % 5)), `late-${i}`, 2_000 + i)),
        // Another workspace's rows, before and after, are never read.
        `('ws_a', 7200000, 'execute', 'x', 'shop', 'retail', 'USD', 'succeeded', 'posted', '', 0, '', 1, 5, 1, 0, 0, 0)`,
        `('ws_z', 7200000, 'execute', 'x', 'shop', 'retail', 'USD', 'succeeded', 'posted', '', 0, '', 1, 5, 1, 0, 0, 0)`,
      ];
      await db.transaction({}, async (tx) => {
        for (let i = 0; i < rows.length; i += 500) {
          await tx.run(sql(`INSERT INTO transaction_rollups VALUES ${rows.slice(i, i + 500).join(', ')}`));
        }
      });
      for (const [fromHour, toHour] of [
        [0, OPEN_END],
        [3_600_000, 7_200_000],
        [7_200_000, 10_800_000],
        [3_600_000, 10_800_000],
      ] as const) {
        const expected = await db.reader.get(
          sql(
            `SELECT count(*), sum(amount) FROM transaction_rollups WHERE workspace_id = ? AND hour >= ? AND hour < ?`,
            (r) => ({ rows: Number(r[0]), amount: Number(r[1] ?? 0) }),
          ),
          [WS, fromHour, toHour],
        );
        let pages = 0;
        const seen = { rows: 0, amount: 0 };
        const agents = new Set<string>();
        await eachPage(db.reader, { workspaceId: WS, fromHour, toHour }, async (page) => {
          pages++;
          for (const g of await summaryGroups(db.reader, page, fromHour)) {
            expect(agents.has(g.agentId)).toBe(false);
            agents.add(g.agentId);
            seen.rows += g.requests;
            seen.amount += g.amount;
          }
        });
        expect(seen).toEqual(expected);
        expect(pages).toBe(Math.floor((expected?.rows ?? 0) / ROLLUP_PAGE) + 1);
      }
    } finally {
      await dispose();
    }
  });

  it("one combination's counters in several shards (one per replica) add up, a page ending between them", async () => {
    const { db, dispose } = await openTestDb(dialect);
    try {
      // ROLLUP_PAGE - 1 filler rows first: the page ends on the second of the shop agent's three shards.
      const filler = Array.from(
        { length: ROLLUP_PAGE - 1 },
        (_, i) =>
          `('${WS}', 0, 'execute', 'a-${String(i).padStart(5, '0')}', 'shop', 'retail', 'USD', 'succeeded', 'posted', '', 0, '', 1, 1, 1, 0, 0, 0)`,
      );
      const shards = [0, 7, 1_234_567].map(
        (shard, i) =>
          `('${WS}', 0, 'execute', 'z-shop', 'shop', 'retail', 'USD', 'succeeded', 'posted', '', 0, '', ${i + 1}, ${100 * (i + 1)}, ${i + 1}, 0, 0, ${shard})`,
      );
      const rows = [...filler, ...shards];
      await db.transaction({}, async (tx) => {
        for (let i = 0; i < rows.length; i += 500) {
          await tx.run(sql(`INSERT INTO transaction_rollups VALUES ${rows.slice(i, i + 500).join(', ')}`));
        }
      });
      const shop = { requests: 0, amount: 0 };
      let pages = 0;
      await eachPage(db.reader, { workspaceId: WS, fromHour: 0, toHour: OPEN_END }, async (page) => {
        pages++;
        for (const g of await summaryGroups(db.reader, page, 0)) {
          if (g.agentId !== 'z-shop') continue;
          shop.requests += g.requests;
          shop.amount += g.amount;
        }
      });
      expect(pages).toBe(2);
      expect(shop).toEqual({ requests: 6, amount: 600 });
    } finally {
      await dispose();
    }
  });
});
