import { select } from '../db/schema/columns.ts';
import { type Conn, placeholders, type Statement, sql } from '../db/types.ts';
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

/** A row's primary key as stored: where a page of rollups ends. */
export type RollupKey = readonly unknown[];

const KEY = `workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state,
  approval, refused, rule_id, shard`;
const orNull = (v: unknown) => (v === '' || v === null ? null : (v as string));
const num = (v: unknown) => Number(v ?? 0);
const COUNTED = `spend_state IN ('pending', 'posted')`;

// The pending transactions rolled up at read time into the rollups' columns (`pendingRollups`).
const PENDING_ROLLUP = select({
  workspace_id: 't.workspace_id',
  hour: '(t.created_at / 3600000) * 3600000',
  operation: 't.operation',
  agent_id: 't.agent_id',
  business_id: "coalesce(t.business_id, '')",
  category: "coalesce(t.business_category, '')",
  currency: "coalesce(t.currency, '')",
  status: 't.status',
  spend_state: 't.spend_state',
  approval: "coalesce(a.status, '')",
  refused: '0',
  rule_id: "''",
  requests: 'count(*)',
  amount: 'coalesce(sum(t.amount), 0)',
  amounts: 'count(t.amount)',
  cost_micros: 'coalesce(sum(t.cost_micros), 0)',
  costs: 'count(t.cost_micros)',
});
const toRow = PENDING_ROLLUP.map(
  (r): RollupRow => ({
    hour: num(r.hour),
    operation: r.operation as RollupRow['operation'],
    agentId: r.agent_id as string,
    businessId: orNull(r.business_id),
    category: orNull(r.category),
    currency: (r.currency as string | null) ?? '',
    status: r.status as TransactionStatus,
    spendState: r.spend_state as SpendState,
    approval: orNull(r.approval),
    refused: num(r.refused) === 1,
    ruleId: orNull(r.rule_id),
    requests: num(r.requests),
    amount: num(r.amount),
    amounts: num(r.amounts),
    costMicros: num(r.cost_micros),
    costs: num(r.costs),
  }),
);

/**
 * A page of the rollups: the rows of one workspace with an hour in [fromHour, toHour) whose key is
 * after `after` (null: from the first) and at most `upTo` (null: to the last). `rollupPageEnd`
 * bounds a page to a number of rows; every aggregate below then reads that page and no more, so a
 * statement's cost is the page's, whatever the size of the ledger.
 */
export interface RollupPage {
  workspaceId: string;
  fromHour: number;
  toHour: number;
  after: RollupKey | null;
  upTo: RollupKey | null;
}

// After the key of `after` and up to `upTo`'s: row values over the key without its first column
// (equal on the page), which SQLite's planner takes as the two ends of the primary-key range to walk;
// with `workspace_id` in the row value too, it walks the hour from its start instead.
const KEY_IN_WORKSPACE = KEY.slice(KEY.indexOf(',') + 1).trim();
const inPage = (p: RollupPage) => ({
  where: `workspace_id = ?${p.after ? ` AND (${KEY_IN_WORKSPACE}) > (${placeholders(12)})` : ' AND hour >= ?'}${
    p.upTo ? ` AND (${KEY_IN_WORKSPACE}) <= (${placeholders(12)})` : ''
  } AND hour < ?`,
  params: [
    p.workspaceId,
    ...(p.after ? p.after.slice(1) : [p.fromHour]),
    ...(p.upTo ? p.upTo.slice(1) : []),
    p.toHour,
  ],
});

/** One statement text per page shape (bounded below, above, both, neither). */
function paged<R>(build: (where: string) => string, map: (r: unknown[]) => R) {
  const texts = new Map<string, Statement<R>>();
  return (p: RollupPage, extra: readonly unknown[] = []) => {
    const { where, params } = inPage(p);
    let statement = texts.get(where);
    if (!statement) {
      statement = sql(build(where), map);
      texts.set(where, statement);
    }
    return { statement, params: [...extra, ...params] };
  };
}

const PAGE_END = paged(
  (where) => `SELECT ${KEY} FROM transaction_rollups WHERE ${where} ORDER BY ${KEY} LIMIT 1 OFFSET ?`,
  (r) => r as RollupKey,
);

/**
 * The key of the `size`-th row after `after` (a walk of `size` entries of the primary key), or
 * null when fewer are left: the page (after, end] then holds `size` rows at most.
 */
export async function rollupPageEnd(
  conn: Conn,
  span: Omit<RollupPage, 'after' | 'upTo'>,
  after: RollupKey | null,
  size: number,
): Promise<RollupKey | null> {
  const { statement, params } = PAGE_END({ ...span, after, upTo: null });
  return (await conn.get(statement, [...params, size - 1])) ?? null;
}

/** Counted executes (reserved or posted) by business, category and agent, from `since`. */
export interface SummaryGroup {
  businessId: string | null;
  category: string | null;
  agentId: string;
  requests: number;
  amount: number;
}
const SUMMARY_LIST = select({
  business_id: 'business_id',
  category: 'category',
  agent_id: 'agent_id',
  requests: 'sum(requests)',
  amount: 'sum(amount)',
});
const SUMMARY = paged(
  (where) => `SELECT ${SUMMARY_LIST.list} FROM transaction_rollups
    WHERE ${where} AND operation = 'execute' AND ${COUNTED} AND requests <> 0 AND hour >= ?
    GROUP BY business_id, category, agent_id`,
  SUMMARY_LIST.map(
    (r): SummaryGroup => ({
      businessId: orNull(r.business_id),
      category: orNull(r.category),
      agentId: r.agent_id as string,
      requests: num(r.requests),
      amount: num(r.amount),
    }),
  ),
);
export function summaryGroups(conn: Conn, page: RollupPage, since: number): Promise<SummaryGroup[]> {
  const { statement, params } = SUMMARY(page);
  return conn.all(statement, [...params, since]);
}

/** Counted spend (executes and evaluations) per hour, category, currency and spend state. */
export interface HourSpend {
  hour: number;
  category: string;
  currency: string;
  spendState: SpendState;
  amount: number;
}
const HOUR_SPEND_LIST = select({
  hour: 'hour',
  category: 'category',
  currency: 'currency',
  spend_state: 'spend_state',
  amount: 'sum(amount)',
});
const HOUR_SPEND = paged(
  (where) => `SELECT ${HOUR_SPEND_LIST.list} FROM transaction_rollups
    WHERE ${where} AND ${COUNTED} AND amount <> 0
    GROUP BY hour, category, currency, spend_state`,
  HOUR_SPEND_LIST.map(
    (r): HourSpend => ({
      hour: num(r.hour),
      category: r.category as string,
      currency: r.currency as string,
      spendState: r.spend_state as SpendState,
      amount: num(r.amount),
    }),
  ),
);
export function hourSpend(conn: Conn, page: RollupPage): Promise<HourSpend[]> {
  const { statement, params } = HOUR_SPEND(page);
  return conn.all(statement, params);
}

/** Requests, counted spend and costs per agent, bucket (of `size` ms from `origin`) and currency. */
export interface AgentCell {
  agentId: string;
  bucket: number;
  currency: string;
  requests: number;
  spend: number;
  spendCount: number;
  costMicros: number;
  costCount: number;
}
// Integer division of non-negative integers (hour >= origin): exact on PostgreSQL's bigint and,
// cast, on SQLite whatever type the driver binds the size with.
// Grouped by the first three, in this order.
const AGENT_CELLS_LIST = select({
  agent_id: 'agent_id',
  bucket: 'CAST((hour - ?) / ? AS INTEGER)',
  currency: 'currency',
  requests: 'sum(requests)',
  spend: `sum(CASE WHEN ${COUNTED} THEN amount ELSE 0 END)`,
  spend_count: `sum(CASE WHEN ${COUNTED} THEN amounts ELSE 0 END)`,
  cost_micros: 'sum(cost_micros)',
  costs: 'sum(costs)',
});
const AGENT_CELLS = paged(
  (where) => `SELECT ${AGENT_CELLS_LIST.list}
    FROM transaction_rollups WHERE ${where} AND requests <> 0
    GROUP BY 1, 2, 3`,
  AGENT_CELLS_LIST.map(
    (r): AgentCell => ({
      agentId: r.agent_id as string,
      bucket: num(r.bucket),
      currency: r.currency as string,
      requests: num(r.requests),
      spend: num(r.spend),
      spendCount: num(r.spend_count),
      costMicros: num(r.cost_micros),
      costCount: num(r.costs),
    }),
  ),
);
export function agentCells(conn: Conn, page: RollupPage, origin: number, size: number): Promise<AgentCell[]> {
  const { statement, params } = AGENT_CELLS(page, [origin, size]);
  return conn.all(statement, params);
}

/** Counted spend by business, category and currency, from `since`. */
export interface SpendKey {
  businessId: string | null;
  category: string | null;
  currency: string;
  amount: number;
  count: number;
}
const SPEND_KEYS_LIST = select({
  business_id: 'business_id',
  category: 'category',
  currency: 'currency',
  amount: 'sum(amount)',
  amounts: 'sum(amounts)',
});
const SPEND_KEYS = paged(
  (where) => `SELECT ${SPEND_KEYS_LIST.list} FROM transaction_rollups
    WHERE ${where} AND ${COUNTED} AND amounts <> 0 AND hour >= ?
    GROUP BY business_id, category, currency`,
  SPEND_KEYS_LIST.map(
    (r): SpendKey => ({
      businessId: orNull(r.business_id),
      category: orNull(r.category),
      currency: r.currency as string,
      amount: num(r.amount),
      count: num(r.amounts),
    }),
  ),
);
export function spendKeys(conn: Conn, page: RollupPage, since: number): Promise<SpendKey[]> {
  const { statement, params } = SPEND_KEYS(page);
  return conn.all(statement, [...params, since]);
}

/** Proposals by status, approval and (for policy refusals) rule, from `since`. */
export interface OutcomeKey {
  status: string;
  approval: string | null;
  refused: boolean;
  ruleId: string | null;
  requests: number;
}
const OUTCOMES_LIST = select({
  status: 'status',
  approval: 'approval',
  refused: 'refused',
  rule_id: 'rule_id',
  requests: 'sum(requests)',
});
const OUTCOMES = paged(
  (where) => `SELECT ${OUTCOMES_LIST.list} FROM transaction_rollups
    WHERE ${where} AND requests <> 0 AND hour >= ?
    GROUP BY status, approval, refused, rule_id`,
  OUTCOMES_LIST.map(
    (r): OutcomeKey => ({
      status: r.status as string,
      approval: orNull(r.approval),
      refused: num(r.refused) === 1,
      ruleId: orNull(r.rule_id),
      requests: num(r.requests),
    }),
  ),
);
export function outcomeKeys(conn: Conn, page: RollupPage, since: number): Promise<OutcomeKey[]> {
  const { statement, params } = OUTCOMES(page);
  return conn.all(statement, [...params, since]);
}

// The pending ones, rolled up the same way at read time. SQLite is told to take the partial index
// (a few rows: executes in flight) rather than the workspace's whole id index.
const pendingStatement = (from: string) =>
  sql(
    `SELECT ${PENDING_ROLLUP.list}
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

const SPEND_TOTALS = select({ pending: 'coalesce(sum(pending), 0)', posted: 'coalesce(sum(posted), 0)' });

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
  const text = `SELECT ${SPEND_TOTALS.list} FROM spend_buckets
    WHERE workspace_id = ? AND minute >= ? AND minute < ? AND currency = ?${byCategory}`;
  const row = await conn.get(
    sql(
      text,
      SPEND_TOTALS.map((r) => ({ pending: num(r.pending), posted: num(r.posted) })),
    ),
    [q.workspaceId, q.fromMinute, q.toMinute, q.currency, ...categories],
  );
  return row ?? { pending: 0, posted: 0 };
}
