import { createClient } from '@libsql/client';

/**
 * Counts ledger rows by status in a gateway's SQLite file, on a connection that cannot write
 * (`PRAGMA query_only`); run it once the gateway process has exited.
 */
export async function ledgerCounts(databaseUrl: string): Promise<Record<string, number>> {
  const client = createClient({ url: databaseUrl });
  try {
    await client.execute('PRAGMA query_only = 1');
    const result = await client.execute('SELECT status, count(*) AS n FROM transactions GROUP BY status');
    const counts: Record<string, number> = {};
    for (const row of result.rows) counts[String(row.status)] = Number(row.n);
    return counts;
  } finally {
    client.close();
  }
}

/**
 * Issue 20: the ledger log's sequencer lag in a gateway's SQLite file, read once it has exited: for
 * each appended receipt, its append time minus its commit time (ms), p50 and p99; and how many
 * receipts and audit events were left waiting when it stopped.
 */
export async function sequencerLag(
  databaseUrl: string,
): Promise<{ appended: number; p50Ms: number | null; p99Ms: number | null; waiting: number }> {
  const client = createClient({ url: databaseUrl });
  try {
    await client.execute('PRAGMA query_only = 1');
    const result = await client.execute(
      `SELECT e.appended_at - r.created_at AS lag FROM ledger_entries e
       JOIN receipts r ON e.kind = 'receipt' AND r.transaction_id = e.ref`,
    );
    const lags = result.rows.map((row) => Number(row.lag)).sort((a, b) => a - b);
    const at = (q: number) =>
      lags.length === 0 ? null : (lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] as number);
    const waiting = Number((await client.execute('SELECT count(*) AS n FROM ledger_queue')).rows[0]?.n ?? 0);
    return { appended: lags.length, p50Ms: at(0.5), p99Ms: at(0.99), waiting };
  } finally {
    client.close();
  }
}
