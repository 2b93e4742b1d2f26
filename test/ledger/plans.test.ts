import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { nodesAtText, QUEUED_STATEMENT } from '../../gateway/repositories/ledger-log.ts';
import { DIALECTS, openTestDb } from '../support/dialects.ts';

/**
 * A sequencer batch must cost the same with a log of a thousand entries or of a million: its read of
 * the queue seeks each queued row's receipt, audit event and existing entry by a whole unique key.
 * (It once asked for `(kind, ref)` pairs joined by OR, which SQLite answered by walking every entry of
 * the workspace: at 8,000 entries a batch cost 535 µs per entry instead of ~100, and climbing.)
 */
const ENTRIES = 3_000;

describe.each(DIALECTS)('the ledger log sequencer on %s', (dialect) => {
  let opened: Awaited<ReturnType<typeof openTestDb>>;
  beforeAll(async () => {
    opened = await openTestDb(dialect);
    const series =
      dialect === 'postgres'
        ? `SELECT n FROM generate_series(0, ${ENTRIES - 1}) AS n`
        : `WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < ${ENTRIES - 1}) SELECT n FROM s`;
    await opened.db.transaction({ key: 'plans' }, async (tx) => {
      await tx.run(
        sql(`INSERT INTO ledger_entries (workspace_id, idx, kind, ref, jws, hash, appended_at)
             SELECT 'ws_plans', n, 'receipt', 'txn_' || n, 'x.y.z', NULL, 0 FROM (${series}) AS series`),
      );
      await tx.run(
        sql(`INSERT INTO ledger_nodes (workspace_id, level, idx, hash)
             SELECT 'ws_plans', n % 12, n, 'ab' FROM (${series}) AS series`),
      );
      await tx.run(
        sql(`INSERT INTO ledger_queue (workspace_id, kind, ref, created_at)
             SELECT 'ws_plans', 'receipt', 'txn_q' || n, 0 FROM (${series}) AS series`),
      );
    });
  });
  afterAll(() => opened?.dispose());

  it('reads a batch of the queue by index seeks only, never a scan of entries, receipts or audit events', async () => {
    const explain = dialect === 'postgres' ? 'EXPLAIN ' : 'EXPLAIN QUERY PLAN ';
    const rows = await opened.db.reader.all(
      sql(explain + QUEUED_STATEMENT, (r) => r.join(' ')),
      ['ws_plans', 256],
    );
    const plan = rows.join('\n');
    expect(plan).toMatch(/ledger_entries/);
    // SQLite: "SCAN <table>" is a full walk ("SEARCH … USING INDEX" is a seek). PostgreSQL: a
    // sequential scan, or a hash built from a whole table, of any table the read touches.
    expect(plan).not.toMatch(/\bSCAN (ledger_entries|receipts|audit_events|e|r|a)\b/);
    expect(plan).not.toMatch(/Seq Scan on (ledger_entries|receipts|audit_events)|Hash (Left )?Join/);
    expect(plan).not.toMatch(/Rows Removed by Filter/);
  });

  it("reads a batch's frontier nodes by a seek each on the whole key, never a walk of the workspace's nodes", async () => {
    const explain = dialect === 'postgres' ? 'EXPLAIN ' : 'EXPLAIN QUERY PLAN ';
    const rows = await opened.db.reader.all(
      sql(explain + nodesAtText(3), (r) => r.join(' ')),
      ['ws_plans', 11, 11, 'ws_plans', 5, 17, 'ws_plans', 0, 2_400],
    );
    const plan = rows.join('\n');
    expect(plan).toMatch(/ledger_nodes/);
    if (dialect === 'sqlite') {
      // Each part a SEARCH on (workspace_id, level, idx): never one on workspace_id alone.
      expect(
        plan.match(/SEARCH ledger_nodes USING \S+ \S+ \(workspace_id=\? AND level=\? AND idx=\?\)/g),
      ).toHaveLength(3);
      expect(plan).not.toMatch(/\(workspace_id=\?\)/);
    }
    expect(plan).not.toMatch(
      /SCAN ledger_nodes|Seq Scan on ledger_nodes|Rows Removed by Filter|Bitmap Heap Scan/,
    );
  });
});
