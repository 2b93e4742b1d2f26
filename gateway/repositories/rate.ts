import { columns, only } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';

/**
 * Shared request counters (`rate_counters`), so a limit holds across every replica:
 * - per agent key and calendar minute (RATE_LIMIT_PER_MINUTE): one row per key and minute;
 * - sliding windows (one-time code requests, services/otp.ts): one row per admitted request, at
 *   the millisecond it was made, read back over the window.
 */

/** One upsert: concurrent requests and replicas never lose a count; answers the count including it. */
const COUNT = sql(
  `INSERT INTO rate_counters (key, window_start, count) VALUES (?, ?, 1)
   ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
   RETURNING count`,
  only<number>,
);
const WINDOW = columns('rate_counters', ['window_start', 'count']);
const SINCE = sql(
  `SELECT ${WINDOW.list} FROM rate_counters WHERE key = ? AND window_start > ? ORDER BY window_start`,
  WINDOW.map((r) => ({ at: Number(r.window_start), count: Number(r.count) })),
);
const SWEEP = sql('DELETE FROM rate_counters WHERE window_start < ?');

export async function countRequest(tx: Conn, key: string, windowStart: number): Promise<number> {
  return (await tx.get(COUNT, [key, windowStart])) ?? 1;
}

/** The requests counted under `key` after `since`, oldest first (a sliding window's log). */
export function countedSince(
  conn: Conn,
  key: string,
  since: number,
): Promise<{ at: number; count: number }[]> {
  return conn.all(SINCE, [key, since]);
}

/** Background sweep: counters of windows that started before `before`. */
export function sweepRateCounters(tx: Conn, before: number): Promise<number> {
  return tx.run(SWEEP, [before]);
}
