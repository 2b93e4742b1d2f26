import { type Conn, placeholders, sql } from '../db/types.ts';
import type { SpendState, SpendTotals, TransactionStatus } from '../domain/index.ts';

/**
 * The ledger rolled up per workspace and UTC hour (issue 18; the table and its triggers are in the
 * migrations): what the summary, the analytics and the console overview read instead of scanning
 * `transactions`. Executes and evaluations only; rows whose status is `pending` are not rolled up
 * (their execute is in flight) and are read from the `transactions_pending` partial index instead,
 * in the same shape (`pendingRollups`).
 */

export const HOUR_MS = 3_600_000;

/** One hour of one combination: '' in the table stands for null. */
export interface RollupRow {
  hour: number;
  operation: 'execute' | 'evaluate';
  agentId: string;
  businessId: string | null;
  category: string | null;
  /** '' when the transaction had none (as the analytics group it). */
  currency: string;
  status: TransactionStatus;
  spendState: SpendState;
  /** The status of the approval the transaction names; null when none. */
  approval: string | null;
  /** Refused by the policy itself (rejected without people). */
  refused: boolean;
  /** A refusal's `decision.ruleId`; null otherwise or when it names none. */
  ruleId: string | null;
  requests: number;
  /** Sum of the amounts, and how many transactions had one. */
  amount: number;
  amounts: number;
  costMicros: number;
  costs: number;
}

/** Where a page of rollups stopped: the primary key of its last row, as stored. */
export type RollupCursor = readonly unknown[];

const KEY = `workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state,
  approval, refused, rule_id`;
const orNull = (v: unknown) => (v === '' || v === null ? null : (v as string));
const num = (v: unknown) => Number(v ?? 0);

const toRow = (r: unknown[]): RollupRow => ({
  hour: num(r[1]),
  operation: r[2] as RollupRow['operation'],
  agentId: r[3] as string,
  businessId: orNull(r[4]),
  category: orNull(r[5]),
  currency: (r[6] as string | null) ?? '',
  status: r[7] as TransactionStatus,
  spendState: r[8] as SpendState,
  approval: orNull(r[9]),
  refused: num(r[10]) === 1,
  ruleId: orNull(r[11]),
  requests: num(r[12]),
  amount: num(r[13]),
  amounts: num(r[14]),
  costMicros: num(r[15]),
  costs: num(r[16]),
});
const page = (after: boolean) =>
  sql(
    `SELECT ${KEY}, requests, amount, amounts, cost_micros, costs FROM transaction_rollups
     WHERE workspace_id = ? AND hour >= ? AND hour < ?${after ? ` AND (${KEY}) > (${placeholders(12)})` : ''}
     ORDER BY ${KEY} LIMIT ?`,
    (r) => ({ row: toRow(r), key: r.slice(0, 12) }),
  );
const FIRST_PAGE = page(false);
const NEXT_PAGE = page(true);

/**
 * At most `limit` rollup rows of the workspace with an hour in [fromHour, toHour), in key order,
 * after `cursor` (the key of the previous page's last row). A page walks `limit` rows of the
 * primary key and no more, however large the ledger; rows whose counters all went back to 0 (every
 * transaction of that combination moved on) are among them.
 */
export async function rollupPage(
  conn: Conn,
  workspaceId: string,
  fromHour: number,
  toHour: number,
  cursor: RollupCursor | null,
  limit: number,
): Promise<{ rows: RollupRow[]; cursor: RollupCursor | null }> {
  const found = cursor
    ? await conn.all(NEXT_PAGE, [workspaceId, fromHour, toHour, ...cursor, limit])
    : await conn.all(FIRST_PAGE, [workspaceId, fromHour, toHour, limit]);
  return {
    rows: found.map((f) => f.row),
    cursor: found.length === limit ? (found.at(-1)?.key ?? null) : null,
  };
}

// The pending ones, rolled up the same way at read time. SQLite is told to take the partial index
// (a few rows: executes in flight) rather than the workspace's whole id index.
const pendingStatement = (from: string) =>
  sql(
    `SELECT t.workspace_id, (t.created_at / 3600000) * 3600000, t.operation, t.agent_id,
       coalesce(t.business_id, ''), coalesce(t.business_category, ''), coalesce(t.currency, ''), t.status,
       t.spend_state, coalesce(a.status, ''), 0, '',
       count(*), coalesce(sum(t.amount), 0), count(t.amount), coalesce(sum(t.cost_micros), 0), count(t.cost_micros)
     FROM ${from} LEFT JOIN approvals a ON a.id = t.approval_id
     WHERE t.status = 'pending' AND t.workspace_id = ? AND t.operation IN ('execute', 'evaluate')
       AND t.created_at >= ? AND t.created_at < ?
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10`,
    toRow,
  );
const PENDING = {
  sqlite: pendingStatement('transactions AS t INDEXED BY transactions_pending'),
  postgres: pendingStatement('transactions t'),
} as const;

/** The workspace's pending executes and evaluations created in [from, to), as rollup rows. */
export function pendingRollups(
  conn: Conn,
  workspaceId: string,
  from: number,
  to: number,
): Promise<RollupRow[]> {
  return conn.all(PENDING[conn.dialect], [workspaceId, from, to]);
}

/**
 * Reserved and posted spend of the workspace in the minute buckets [fromMinute, toMinute) (the
 * limits' own totals, DESIGN §6): for the start of a window up to the first whole hour.
 */
export async function spendBetween(
  conn: Conn,
  q: {
    workspaceId: string;
    fromMinute: number;
    toMinute: number;
    currency: string;
    categories?: readonly string[];
  },
): Promise<SpendTotals> {
  const categories = q.categories ?? [];
  const byCategory = categories.length > 0 ? ` AND category IN (${placeholders(categories.length)})` : '';
  const text = `SELECT coalesce(sum(pending), 0), coalesce(sum(posted), 0) FROM spend_buckets
    WHERE workspace_id = ? AND minute >= ? AND minute < ? AND currency = ?${byCategory}`;
  const row = await conn.get(
    sql(text, (r) => ({ pending: num(r[0]), posted: num(r[1]) })),
    [q.workspaceId, q.fromMinute, q.toMinute, q.currency, ...categories],
  );
  return row ?? { pending: 0, posted: 0 };
}
