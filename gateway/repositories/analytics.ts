import { type Conn, sql } from '../db/types.ts';

/**
 * Aggregates for workspace analytics (issue 14, item 6), grouped in the database over one time range.
 * Every statement reads the workspace's proposals (executes and evaluations) created in [from, to).
 * Their ids are ULIDs of their admission time (ids.ts `newIdAt`), so the range is two id ranges of
 * the `transactions_ws_id` index (one per prefix, `txn_` and `evl_`); `created_at` is checked too,
 * which keeps rows made before ids carried that time exact. Spend counts as DESIGN §6 counts it:
 * reserved or posted (`spend_state` pending or posted).
 */

export interface Range {
  workspaceId: string;
  from: number;
  to: number;
  /** [lo, hi) of execute ids, then of evaluation ids, for [from, to) (ids.ts `idRange`). */
  ids: readonly [string, string, string, string];
}

const inRange = (t: string) =>
  `${t}workspace_id = ? AND ((${t}id >= ? AND ${t}id < ?) OR (${t}id >= ? AND ${t}id < ?))
   AND ${t}operation IN ('execute', 'evaluate') AND ${t}created_at >= ? AND ${t}created_at < ?`;
const PROPOSALS = inRange('');
const COUNTED = `spend_state IN ('pending', 'posted')`;
const rangeParams = (r: Range) => [r.workspaceId, ...r.ids, r.from, r.to];

const num = (v: unknown) => Number(v ?? 0);

export interface AgentBucketRow {
  agentId: string;
  /** Bucket number from the origin: floor((created_at - origin) / size). */
  bucket: number;
  currency: string;
  requests: number;
  spend: number;
  spendCount: number;
  costMicros: number;
  costCount: number;
}

// Integer division of non-negative integers (created_at >= origin): exact on PostgreSQL's bigint and,
// cast, on SQLite whatever type the driver binds the size with.
const AGENT_BUCKETS = sql(
  `SELECT agent_id, CAST((created_at - ?) / ? AS INTEGER), coalesce(currency, ''), count(*),
     coalesce(sum(CASE WHEN ${COUNTED} THEN amount ELSE 0 END), 0),
     coalesce(sum(CASE WHEN ${COUNTED} AND amount IS NOT NULL THEN 1 ELSE 0 END), 0),
     coalesce(sum(cost_micros), 0), count(cost_micros)
   FROM transactions WHERE ${PROPOSALS}
   GROUP BY 1, 2, 3`,
  (r): AgentBucketRow => ({
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

/** Requests, counted spend and evaluation costs per agent, bucket (of `size` ms from `r.from`) and currency. */
export function agentBuckets(conn: Conn, r: Range, size: number): Promise<AgentBucketRow[]> {
  return conn.all(AGENT_BUCKETS, [r.from, size, ...rangeParams(r)]);
}

export interface SpendRow {
  key: string | null;
  currency: string;
  amount: number;
  count: number;
}

const spendStatement = (column: 'business_id' | 'business_category') =>
  sql(
    `SELECT ${column}, coalesce(currency, ''), coalesce(sum(amount), 0), count(*)
     FROM transactions WHERE ${PROPOSALS} AND ${COUNTED} AND amount IS NOT NULL
     GROUP BY 1, 2`,
    (r): SpendRow => ({
      key: r[0] as string | null,
      currency: r[1] as string,
      amount: num(r[2]),
      count: num(r[3]),
    }),
  );
const SPEND_BY = { business: spendStatement('business_id'), category: spendStatement('business_category') };

/** Counted spend by business or by category, per currency. */
export function spendBy(conn: Conn, r: Range, by: keyof typeof SPEND_BY): Promise<SpendRow[]> {
  return conn.all(SPEND_BY[by], rangeParams(r));
}

export interface OutcomeRow {
  status: string;
  /** The status of its approval, null when people were never asked. */
  approval: string | null;
  count: number;
}

const OUTCOMES = sql(
  `SELECT t.status, a.status, count(*)
   FROM transactions t LEFT JOIN approvals a ON a.id = t.approval_id
   WHERE ${inRange('t.')}
   GROUP BY 1, 2`,
  (r): OutcomeRow => ({ status: r[0] as string, approval: r[1] as string | null, count: num(r[2]) }),
);

/** Proposals by their status and their approval's status. */
export function outcomes(conn: Conn, r: Range): Promise<OutcomeRow[]> {
  return conn.all(OUTCOMES, rangeParams(r));
}

// The decision's `ruleId` (JSON text on both dialects; each reads it with its own JSON function).
const RULE_ID = {
  sqlite: "json_extract(decision, '$.ruleId')",
  postgres: "CAST(decision AS jsonb) ->> 'ruleId'",
} as const;
const rejectionsBy = (ruleId: string) =>
  sql(
    `SELECT ${ruleId}, count(*) FROM transactions
     WHERE ${PROPOSALS} AND status = 'rejected' AND approval_id IS NULL
     GROUP BY 1 ORDER BY 2 DESC, 1`,
    (r) => ({ ruleId: r[0] as string | null, count: num(r[1]) }),
  );
const REJECTIONS = { sqlite: rejectionsBy(RULE_ID.sqlite), postgres: rejectionsBy(RULE_ID.postgres) };

/** Policy refusals (never parked for people) by the rule or control that refused. */
export function rejectionsByRule(conn: Conn, r: Range): Promise<{ ruleId: string | null; count: number }[]> {
  return conn.all(REJECTIONS[conn.dialect], rangeParams(r));
}

const DECISION_TIMES = sql(
  `SELECT updated_at - created_at FROM approvals
   WHERE workspace_id = ? AND status IN ('approved', 'rejected') AND created_at >= ? AND created_at < ?
   ORDER BY 1`,
  (r) => num(r[0]),
);

/** Ms from each approval's creation to its human decision (approved or rejected), ascending. */
export function decisionTimes(conn: Conn, r: Range): Promise<number[]> {
  return conn.all(DECISION_TIMES, [r.workspaceId, r.from, r.to]);
}
