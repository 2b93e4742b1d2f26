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
