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
  approval, refused, rule_id`;
const orNull = (v: unknown) => (v === '' || v === null ? null : (v as string));
const num = (v: unknown) => Number(v ?? 0);
const COUNTED = `spend_state IN ('pending', 'posted')`;

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
  where: `workspace_id = ?${p.after ? ` AND (${KEY_IN_WORKSPACE}) > (${placeholders(11)})` : ' AND hour >= ?'}${
    p.upTo ? ` AND (${KEY_IN_WORKSPACE}) <= (${placeholders(11)})` : ''
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
const SUMMARY = paged(
  (where) => `SELECT business_id, category, agent_id, sum(requests), sum(amount) FROM transaction_rollups
    WHERE ${where} AND operation = 'execute' AND ${COUNTED} AND requests <> 0 AND hour >= ?
    GROUP BY business_id, category, agent_id`,
  (r): SummaryGroup => ({
    businessId: orNull(r[0]),
    category: orNull(r[1]),
    agentId: r[2] as string,
    requests: num(r[3]),
    amount: num(r[4]),
  }),
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
const HOUR_SPEND = paged(
  (where) => `SELECT hour, category, currency, spend_state, sum(amount) FROM transaction_rollups
    WHERE ${where} AND ${COUNTED} AND amount <> 0
    GROUP BY hour, category, currency, spend_state`,
  (r): HourSpend => ({
    hour: num(r[0]),
    category: r[1] as string,
    currency: r[2] as string,
    spendState: r[3] as SpendState,
    amount: num(r[4]),
  }),
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
const AGENT_CELLS = paged(
  (where) => `SELECT agent_id, CAST((hour - ?) / ? AS INTEGER), currency, sum(requests),
      sum(CASE WHEN ${COUNTED} THEN amount ELSE 0 END), sum(CASE WHEN ${COUNTED} THEN amounts ELSE 0 END),
      sum(cost_micros), sum(costs)
    FROM transaction_rollups WHERE ${where} AND requests <> 0
    GROUP BY 1, 2, 3`,
  (r): AgentCell => ({
    agentId: r[0] as string,
    bucket: num(r[1]),
    currency: r[2] as string,
    requests: num(r[3]),
    spend: num(r[4]),
    spendCount: num(r[5]),
    costMicros: num(r[6]),
    costCount: num(r[7]),
  }),
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
const SPEND_KEYS = paged(
  (where) => `SELECT business_id, category, currency, sum(amount), sum(amounts) FROM transaction_rollups
    WHERE ${where} AND ${COUNTED} AND amounts <> 0 AND hour >= ?
    GROUP BY business_id, category, currency`,
  (r): SpendKey => ({
    businessId: orNull(r[0]),
    category: orNull(r[1]),
    currency: r[2] as string,
    amount: num(r[3]),
    count: num(r[4]),
  }),
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
const OUTCOMES = paged(
  (where) => `SELECT status, approval, refused, rule_id, sum(requests) FROM transaction_rollups
    WHERE ${where} AND requests <> 0 AND hour >= ?
    GROUP BY status, approval, refused, rule_id`,
  (r): OutcomeKey => ({
    status: r[0] as string,
    approval: orNull(r[1]),
    refused: num(r[2]) === 1,
    ruleId: orNull(r[3]),
    requests: num(r[4]),
  }),
);
export function outcomeKeys(conn: Conn, page: RollupPage, since: number): Promise<OutcomeKey[]> {
  const { statement, params } = OUTCOMES(page);
  return conn.all(statement, [...params, since]);
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
