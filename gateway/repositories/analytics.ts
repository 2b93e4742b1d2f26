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
const rangeParams = (r: Range) => [r.workspaceId, ...r.ids, r.from, r.to];

const num = (v: unknown) => Number(v ?? 0);

/**
 * One group of proposals: everything the analytics read about the range, grouped so finely that
 * every figure is a sum over groups. One scan of the range serves them all (five scans took 100 ms
 * over 10,000 rows, the overview page's whole budget twice over).
 */
export interface ProposalGroup {
  agentId: string;
  /** Bucket number from the origin: floor((created_at - origin) / size). */
  bucket: number;
  currency: string;
  businessId: string | null;
  category: string | null;
  status: string;
  /** The status of its approval, null when people were never asked. */
  approval: string | null;
  /** Refused by the policy itself (rejected without people). */
  policyRejected: boolean;
  /** The decision's `ruleId` of a policy refusal; null otherwise (or a refusal that names none). */
  ruleId: string | null;
  requests: number;
  /** Counted spend (DESIGN §6: reserved or posted) and how many proposals it sums. */
  spend: number;
  spendCount: number;
  costMicros: number;
  costCount: number;
}

const COUNTED_T = `t.spend_state IN ('pending', 'posted')`;
const REFUSED = `t.status = 'rejected' AND t.approval_id IS NULL`;
// The decision's `ruleId` (JSON text on both dialects; each reads it with its own JSON function).
const RULE_ID = {
  sqlite: "json_extract(t.decision, '$.ruleId')",
  postgres: "CAST(t.decision AS jsonb) ->> 'ruleId'",
} as const;

// Integer division of non-negative integers (created_at >= origin): exact on PostgreSQL's bigint and,
// cast, on SQLite whatever type the driver binds the size with.
const groupsStatement = (ruleId: string) =>
  sql(
    `SELECT t.agent_id, CAST((t.created_at - ?) / ? AS INTEGER), coalesce(t.currency, ''),
       t.business_id, t.business_category, t.status, a.status,
       CASE WHEN ${REFUSED} THEN 1 ELSE 0 END, CASE WHEN ${REFUSED} THEN ${ruleId} END,
       count(*),
       coalesce(sum(CASE WHEN ${COUNTED_T} THEN t.amount ELSE 0 END), 0),
       coalesce(sum(CASE WHEN ${COUNTED_T} AND t.amount IS NOT NULL THEN 1 ELSE 0 END), 0),
       coalesce(sum(t.cost_micros), 0), count(t.cost_micros)
     FROM transactions t LEFT JOIN approvals a ON a.id = t.approval_id
     WHERE ${inRange('t.')}
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9`,
    (r): ProposalGroup => ({
      agentId: r[0] as string,
      bucket: num(r[1]),
      currency: r[2] as string,
      businessId: r[3] as string | null,
      category: r[4] as string | null,
      status: r[5] as string,
      approval: r[6] as string | null,
      policyRejected: num(r[7]) === 1,
      ruleId: (r[8] as string | null) ?? null,
      requests: num(r[9]),
      spend: num(r[10]),
      spendCount: num(r[11]),
      costMicros: num(r[12]),
      costCount: num(r[13]),
    }),
  );
const GROUPS = { sqlite: groupsStatement(RULE_ID.sqlite), postgres: groupsStatement(RULE_ID.postgres) };

/** The range's proposals in groups, bucketed by `size` ms from `r.from`. */
export function proposalGroups(conn: Conn, r: Range, size: number): Promise<ProposalGroup[]> {
  return conn.all(GROUPS[conn.dialect], [r.from, size, ...rangeParams(r)]);
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

const NEWEST = sql(
  `SELECT max(id) FROM transactions WHERE workspace_id = ?`,
  (r) => (r[0] as string | null) ?? null,
);

/** The workspace's newest ledger id (one step down `transactions_ws_id`): a new one means new traffic. */
export async function newestTransactionId(conn: Conn, workspaceId: string): Promise<string | null> {
  const [newest] = await conn.all(NEWEST, [workspaceId]);
  return newest ?? null;
}
