import { type Conn, sql } from '../db/types.ts';

/** Requests per agent key and minute (RATE_LIMIT_PER_MINUTE), shared by every replica. */

/** One upsert: concurrent requests and replicas never lose a count; answers the count including it. */
const COUNT = sql(
  `INSERT INTO rate_counters (key, window_start, count) VALUES (?, ?, 1)
   ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
   RETURNING count`,
  (r) => r[0] as number,
);
const SWEEP = sql('DELETE FROM rate_counters WHERE window_start < ?');

export async function countRequest(tx: Conn, key: string, windowStart: number): Promise<number> {
  return (await tx.get(COUNT, [key, windowStart])) ?? 1;
}

/** Background sweep: counters of windows that started before `before`. */
export function sweepRateCounters(tx: Conn, before: number): Promise<number> {
  return tx.run(SWEEP, [before]);
}
