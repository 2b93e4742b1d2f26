import { performance } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import type { Conn } from '../../db/types.ts';
import type { SpendTotals, SpendWindow } from '../../domain/index.ts';
import {
  HOUR_MS,
  type HourSpend,
  hourSpend,
  pendingRollups,
  type RollupKey,
  type RollupPage,
  type RollupRow,
  rollupPageEnd,
  spendBetween,
} from '../../repositories/rollups.ts';

/**
 * Reads over a time range of the ledger (issue 18) go through the hourly rollups a page at a time:
 * a page is at most ROLLUP_PAGE rows of the rollups' primary key, found by one walk of that many
 * entries, and each read groups a page in the database (a statement of a millisecond or two on
 * SQLite, where every statement is a synchronous call), the event loop turning between pages. A
 * summary over a month never holds other requests, and what a read costs grows with the hours and
 * combinations it covers, not with the ledger.
 */

/** Rollup rows per page: well under a millisecond per statement that groups one, on SQLite. */
export const ROLLUP_PAGE = 1_000;
/** An open end for a range of hours or times. */
export const OPEN_END = Number.MAX_SAFE_INTEGER;

export const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
export const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;
const MINUTE_MS = 60_000;
const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** Spend counted against limits (DESIGN §6): reserved or posted. */
export const counts = (row: Pick<RollupRow, 'spendState'>) =>
  row.spendState === 'pending' || row.spendState === 'posted';

/** The last hour a page holds (its rows are in key order, hour first). */
export const lastHourOf = (page: RollupPage): number =>
  page.upTo === null ? page.toHour : Number(page.upTo[1]);

/**
 * Runs `read` on every page of the workspace's rollups with an hour in [fromHour, toHour), the
 * loop turning before each page. The pending executes and evaluations of the span are not in the
 * rollups: `pendingRollups` gives them in the rollups' shape.
 */
export async function eachPage(
  conn: Conn,
  span: { workspaceId: string; fromHour: number; toHour: number },
  read: (page: RollupPage) => Promise<void>,
): Promise<void> {
  let after: RollupKey | null = null;
  for (;;) {
    // Before every page, the first too: the caller's own work does not run on into it.
    await turn();
    const upTo = await rollupPageEnd(conn, span, after, ROLLUP_PAGE);
    await read({ ...span, after, upTo });
    if (upTo === null) return;
    after = upTo;
  }
}

/**
 * The spend of each limit window, reserved and posted, as the admission's `sumSpend` counts it
 * (from the start of the minute of `since`): whole hours from the rollups (`addHour` with each
 * page's `hourSpend`, `addRow` with the pending rows), the minutes before a window's first whole
 * hour from the minute buckets (`finish`).
 */
export function windowSpend(workspaceId: string, windows: readonly SpendWindow[]) {
  const starts = windows.map((w) => minuteOf(w.since));
  const cuts = starts.map(ceilHour);
  const totals: SpendTotals[] = windows.map(() => ({ pending: 0, posted: 0 }));
  const categories = windows.map((w) => (w.categories ? new Set(w.categories) : null));
  const addHour = (h: HourSpend) => {
    for (const [i, w] of windows.entries()) {
      if (h.hour < (cuts[i] as number) || h.currency !== w.currency) continue;
      if (categories[i] && !categories[i].has(h.category)) continue;
      const t = totals[i] as SpendTotals;
      if (h.spendState === 'posted') t.posted += h.amount;
      else t.pending += h.amount;
    }
  };
  return {
    /** The first hour a scan must cover (OPEN_END when there is no window). */
    from: cuts.length > 0 ? Math.min(...cuts) : OPEN_END,
    addHour,
    addRow(row: RollupRow) {
      if (!counts(row) || row.amount === 0) return;
      addHour({ ...row, category: row.category ?? '' });
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

/** `windowSpend` on its own: one pass from the earliest window to now. */
export async function spendInWindows(
  conn: Conn,
  workspaceId: string,
  windows: readonly SpendWindow[],
): Promise<SpendTotals[]> {
  if (windows.length === 0) return [];
  const spend = windowSpend(workspaceId, windows);
  await eachPage(conn, { workspaceId, fromHour: spend.from, toHour: OPEN_END }, async (page) => {
    for (const h of await hourSpend(conn, page)) spend.addHour(h);
  });
  for (const row of await pendingRollups(conn, workspaceId, spend.from, OPEN_END)) spend.addRow(row);
  return spend.finish(conn);
}

/**
 * For long loops in JavaScript (the analytics' anomaly baselines): `await pace()` between steps
 * lets the event loop turn once `budgetMs` of work has gone by since it last did.
 */
export function pacer(budgetMs = 4): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < budgetMs) return;
    await turn();
    since = performance.now();
  };
}
