import { setImmediate as turn } from 'node:timers/promises';
import type { Conn } from '../db/types.ts';
import type { SpendTotals, SpendWindow } from '../domain/index.ts';
import {
  HOUR_MS,
  pendingRollups,
  type RollupCursor,
  type RollupRow,
  rollupPage,
  spendBetween,
} from '../repositories/rollups.ts';

/**
 * Reads over a time range of the ledger (issue 18) go through the hourly rollups, a page at a time:
 * each page is one bounded statement (on SQLite a synchronous call, a millisecond or two), and the
 * event loop turns between pages, so a summary over a month never holds other requests. What a
 * read costs grows with the hours and combinations it covers, not with the ledger.
 */

/** Rollup rows per statement: about a millisecond of work on SQLite. */
export const ROLLUP_PAGE = 2_000;
/** An open end for a range of hours or times. */
export const OPEN_END = Number.MAX_SAFE_INTEGER;

export const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
export const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;
const MINUTE_MS = 60_000;
const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** Spend counted against limits (DESIGN §6): reserved or posted. */
export const counts = (row: Pick<RollupRow, 'spendState'>) =>
  row.spendState === 'pending' || row.spendState === 'posted';

/**
 * Calls `visit` with every rollup row of the workspace with an hour in [fromHour, toHour), then
 * with its pending executes and evaluations of that span rolled up the same way: together, every
 * execute and evaluation of the span once. The loop turns between pages.
 */
export async function eachRollup(
  conn: Conn,
  workspaceId: string,
  fromHour: number,
  toHour: number,
  visit: (row: RollupRow) => void,
): Promise<void> {
  let cursor: RollupCursor | null = null;
  for (;;) {
    const found = await rollupPage(conn, workspaceId, fromHour, toHour, cursor, ROLLUP_PAGE);
    for (const row of found.rows) if (row.requests !== 0) visit(row);
    cursor = found.cursor;
    if (cursor === null) break;
    await turn();
  }
  for (const row of await pendingRollups(conn, workspaceId, fromHour, toHour)) visit(row);
}

/**
 * The spend of each limit window, reserved and posted, as the admission's `sumSpend` counts it
 * (from the start of the minute of `since`), built from a rollup scan: whole hours from the rows
 * it is shown, and the minutes before the first whole hour from the minute buckets (`finish`).
 */
export function windowSpend(workspaceId: string, windows: readonly SpendWindow[]) {
  const starts = windows.map((w) => minuteOf(w.since));
  const cuts = starts.map(ceilHour);
  const totals: SpendTotals[] = windows.map(() => ({ pending: 0, posted: 0 }));
  const categories = windows.map((w) => (w.categories ? new Set(w.categories) : null));
  return {
    /** The first hour a scan must cover (OPEN_END when there is no window). */
    from: cuts.length > 0 ? Math.min(...cuts) : OPEN_END,
    visit(row: RollupRow) {
      if (!counts(row) || row.amount === 0) return;
      for (const [i, w] of windows.entries()) {
        if (row.hour < (cuts[i] as number) || row.currency !== w.currency) continue;
        if (categories[i] && !categories[i].has(row.category ?? '')) continue;
        const t = totals[i] as SpendTotals;
        if (row.spendState === 'posted') t.posted += row.amount;
        else t.pending += row.amount;
      }
    },
    /** Adds each window's minutes before its first whole hour; the totals, in the windows' order. */
    async finish(conn: Conn): Promise<SpendTotals[]> {
      for (const [i, w] of windows.entries()) {
        const fromMinute = starts[i] as number;
        const toMinute = cuts[i] as number;
        if (fromMinute === toMinute) continue;
        const edge = await spendBetween(conn, {
          workspaceId,
          fromMinute,
          toMinute,
          currency: w.currency,
          categories: w.categories,
        });
        const t = totals[i] as SpendTotals;
        t.pending += edge.pending;
        t.posted += edge.posted;
      }
      return totals;
    },
  };
}

/** `windowSpend` on its own: one scan from the earliest window to now. */
export async function spendInWindows(
  conn: Conn,
  workspaceId: string,
  windows: readonly SpendWindow[],
): Promise<SpendTotals[]> {
  const spend = windowSpend(workspaceId, windows);
  if (windows.length === 0) return [];
  await eachRollup(conn, workspaceId, spend.from, OPEN_END, (row) => spend.visit(row));
  return spend.finish(conn);
}
