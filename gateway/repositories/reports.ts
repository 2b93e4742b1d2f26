import { columns } from '../db/schema/columns.ts';
import { type Conn, placeholders, sql } from '../db/types.ts';

/**
 * What the compliance export (issue 14) reads: figures over a range of one workspace, and the rows
 * of its extracts in pages (keyset, never the whole table). `from` is inclusive, `to` exclusive,
 * both epoch ms; the same statement text runs on both dialects.
 */

export interface Range {
  workspaceId: string;
  from: number;
  to: number;
}

const n = (value: unknown): number => Number(value ?? 0);
const args = (r: Range) => [r.workspaceId, r.from, r.to];

// ── figures ──────────────────────────────────────────────────────────────────────────────────────

export interface Tally {
  key: string;
  count: number;
}

const BY_OPERATION_STATUS = sql(
  `SELECT operation, status, count(*) FROM transactions
   WHERE workspace_id = ? AND created_at >= ? AND created_at < ?
   GROUP BY operation, status ORDER BY operation, status`,
  (r) => ({ operation: r[0] as string, status: r[1] as string, count: n(r[2]) }),
);
/** Refused by the policy when admitted (or released): rejected without ever being parked for people. */
const POLICY_REJECTIONS = sql(
  `SELECT count(*) FROM transactions
   WHERE workspace_id = ? AND created_at >= ? AND created_at < ? AND status = 'rejected' AND approval_id IS NULL`,
  (r) => n(r[0]),
);
const APPROVALS_BY_STATUS = sql(
  `SELECT status, count(*) FROM approvals
   WHERE workspace_id = ? AND created_at >= ? AND created_at < ? GROUP BY status ORDER BY status`,
  (r): Tally => ({ key: r[0] as string, count: n(r[1]) }),
);
const VOTES_BY_MEMBER = sql(
  `SELECT v.member_id, m.email, v.decision, count(*) FROM approval_votes v
   JOIN approvals a ON a.id = v.approval_id
   LEFT JOIN members m ON m.id = v.member_id
   WHERE a.workspace_id = ? AND v.created_at >= ? AND v.created_at < ?
   GROUP BY v.member_id, m.email, v.decision ORDER BY v.member_id, v.decision`,
  (r) => ({
    memberId: r[0] as string,
    email: (r[1] as string | null) ?? null,
    decision: r[2] as string,
    count: n(r[3]),
  }),
);
// A stage people decided (approved or rejected; expiry is the clock deciding), by decision time.
const DECIDED_STAGES = `FROM approval_stages s JOIN approvals a ON a.id = s.approval_id
   WHERE a.workspace_id = ? AND s.decided_at >= ? AND s.decided_at < ?
     AND s.status IN ('approved', 'rejected') AND s.activated_at IS NOT NULL`;
const DECIDED_COUNT = sql(`SELECT count(*) ${DECIDED_STAGES}`, (r) => n(r[0]));
const DECISION_TIME_AT = sql(
  `SELECT s.decided_at - s.activated_at ${DECIDED_STAGES}
   ORDER BY s.decided_at - s.activated_at LIMIT 1 OFFSET ?`,
  (r) => n(r[0]),
);
const POLICY_VERSIONS = sql(
  `SELECT pv.name, pv.version, pv.created_by, m.email, pv.created_at FROM policy_versions pv
   LEFT JOIN members m ON m.id = pv.created_by
   WHERE pv.workspace_id = ? AND pv.created_at >= ? AND pv.created_at < ?
   ORDER BY pv.created_at, pv.name, pv.version LIMIT ?`,
  (r) => ({
    name: r[0] as string,
    version: n(r[1]),
    createdBy: (r[2] as string | null) ?? null,
    email: (r[3] as string | null) ?? null,
    createdAt: n(r[4]),
  }),
);
const POLICY_VERSION_COUNT = sql(
  `SELECT count(*) FROM policy_versions WHERE workspace_id = ? AND created_at >= ? AND created_at < ?`,
  (r) => n(r[0]),
);
const KEYS_CREATED = sql(
  'SELECT count(*) FROM agent_keys WHERE workspace_id = ? AND created_at >= ? AND created_at < ?',
  (r) => n(r[0]),
);
const KEYS_REVOKED = sql(
  'SELECT count(*) FROM agent_keys WHERE workspace_id = ? AND revoked_at >= ? AND revoked_at < ?',
  (r) => n(r[0]),
);
const KEYS_ACTIVE = sql(
  'SELECT count(*) FROM agent_keys WHERE workspace_id = ? AND revoked_at IS NULL',
  (r) => n(r[0]),
);
const MEMBERS_BY_ROLE = sql(
  'SELECT role, count(*) FROM members WHERE workspace_id = ? GROUP BY role ORDER BY role',
  (r): Tally => ({ key: r[0] as string, count: n(r[1]) }),
);
const AUDIT_BY_ACTION = sql(
  `SELECT action, count(*) FROM audit_events
   WHERE workspace_id = ? AND created_at >= ? AND created_at < ? GROUP BY action ORDER BY action`,
  (r): Tally => ({ key: r[0] as string, count: n(r[1]) }),
);

export const transactionsByStatus = (conn: Conn, r: Range) => conn.all(BY_OPERATION_STATUS, args(r));
export const policyRejections = async (conn: Conn, r: Range) =>
  (await conn.get(POLICY_REJECTIONS, args(r))) ?? 0;
export const approvalsByStatus = (conn: Conn, r: Range) => conn.all(APPROVALS_BY_STATUS, args(r));
export const votesByMember = (conn: Conn, r: Range) => conn.all(VOTES_BY_MEMBER, args(r));
export const membersByRole = (conn: Conn, workspaceId: string) => conn.all(MEMBERS_BY_ROLE, [workspaceId]);
export const auditByAction = (conn: Conn, r: Range) => conn.all(AUDIT_BY_ACTION, args(r));

/** The stages people decided in the range: how many, and the median time from active to decided (ms). */
export async function decisionTimes(
  conn: Conn,
  r: Range,
): Promise<{ count: number; medianMs: number | null }> {
  const count = (await conn.get(DECIDED_COUNT, args(r))) ?? 0;
  if (count === 0) return { count, medianMs: null };
  // The median by position (portable SQL: no percentile function on SQLite), the mean of the two
  // middle values when the count is even.
  const low = (await conn.get(DECISION_TIME_AT, [...args(r), Math.floor((count - 1) / 2)])) ?? 0;
  const high = count % 2 === 0 ? ((await conn.get(DECISION_TIME_AT, [...args(r), count / 2])) ?? low) : low;
  return { count, medianMs: (low + high) / 2 };
}

export async function policyVersionsIn(conn: Conn, r: Range, limit: number) {
  return {
    count: (await conn.get(POLICY_VERSION_COUNT, args(r))) ?? 0,
    versions: await conn.all(POLICY_VERSIONS, [...args(r), limit]),
  };
}

export async function agentKeyFigures(conn: Conn, r: Range) {
  return {
    created: (await conn.get(KEYS_CREATED, args(r))) ?? 0,
    revoked: (await conn.get(KEYS_REVOKED, args(r))) ?? 0,
    active: (await conn.get(KEYS_ACTIVE, [r.workspaceId])) ?? 0,
  };
}

// ── the extracts, in pages ───────────────────────────────────────────────────────────────────────

const T = columns('transactions', [
  'id',
  'created_at',
  'updated_at',
  'operation',
  'status',
  'agent_id',
  'agent_key_id',
  'business_id',
  'business_category',
  'amount',
  'currency',
  'policy_name',
  'policy_version_id',
  'decision',
  'approval_id',
  'error',
  'request_hash',
  'request_id',
]);
export type TransactionRow = ReturnType<typeof T.row>;
const TRANSACTIONS_PAGE = sql(
  `SELECT ${T.list} FROM transactions
   WHERE workspace_id = ? AND id > ? AND created_at >= ? AND created_at < ? ORDER BY id LIMIT ?`,
  T.row,
);

/** Transactions created in the range, in id (time) order, `limit` after id `after` ('' first). */
export function transactionsPage(conn: Conn, r: Range, after: string, limit: number) {
  return conn.all(TRANSACTIONS_PAGE, [r.workspaceId, after, r.from, r.to, limit]);
}

export interface StageRow {
  approvalId: string;
  transactionId: string;
  approvalStatus: string;
  approvalCreatedAt: number;
  position: number;
  stageIndex: number;
  role: string;
  tier: string;
  quorum: number;
  status: string;
  activatedAt: number | null;
  deadlineAt: number | null;
  decidedAt: number | null;
}
const opt = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const STAGES_PAGE = sql(
  `SELECT a.id, a.transaction_id, a.status, a.created_at, s.position, s.stage_index, s.role, s.tier,
     s.quorum, s.status, s.activated_at, s.deadline_at, s.decided_at
   FROM approvals a JOIN approval_stages s ON s.approval_id = a.id
   WHERE a.workspace_id = ? AND a.created_at >= ? AND a.created_at < ?
     AND (a.id > ? OR (a.id = ? AND s.position > ?))
   ORDER BY a.id, s.position LIMIT ?`,
  (r): StageRow => ({
    approvalId: r[0] as string,
    transactionId: r[1] as string,
    approvalStatus: r[2] as string,
    approvalCreatedAt: n(r[3]),
    position: n(r[4]),
    stageIndex: n(r[5]),
    role: r[6] as string,
    tier: r[7] as string,
    quorum: n(r[8]),
    status: r[9] as string,
    activatedAt: opt(r[10]),
    deadlineAt: opt(r[11]),
    decidedAt: opt(r[12]),
  }),
);

/** Stages of the approvals opened in the range, by approval and position, after (`approvalId`, `position`). */
export function stagesPage(
  conn: Conn,
  r: Range,
  after: { approvalId: string; position: number },
  limit: number,
): Promise<StageRow[]> {
  const { approvalId, position } = after;
  return conn.all(STAGES_PAGE, [...args(r), approvalId, approvalId, position, limit]);
}

export interface VoteRow {
  approvalId: string;
  position: number;
  memberId: string;
  email: string | null;
  decision: string;
  reason: string | null;
  via: string;
  createdAt: number;
}

/** The votes on these approvals, oldest first, with the voter's email while they are a member. */
export function votesOf(conn: Conn, approvalIds: readonly string[]): Promise<VoteRow[]> {
  if (approvalIds.length === 0) return Promise.resolve([]);
  const text = `SELECT v.approval_id, v.position, v.member_id, m.email, v.decision, v.reason, v.via, v.created_at
    FROM approval_votes v LEFT JOIN members m ON m.id = v.member_id
    WHERE v.approval_id IN (${placeholders(approvalIds.length)}) ORDER BY v.created_at, v.member_id`;
  return conn.all(
    sql(
      text,
      (r): VoteRow => ({
        approvalId: r[0] as string,
        position: n(r[1]),
        memberId: r[2] as string,
        email: (r[3] as string | null) ?? null,
        decision: r[4] as string,
        reason: (r[5] as string | null) ?? null,
        via: r[6] as string,
        createdAt: n(r[7]),
      }),
    ),
    approvalIds,
  );
}

const E = columns('audit_events', [
  'seq',
  'id',
  'created_at',
  'actor_type',
  'actor_id',
  'action',
  'target',
  'data',
  'prev_hash',
  'hash',
]);
export type AuditRow = ReturnType<typeof E.row>;
// By the chain's own index (place in the workspace's chain), filtered to the range.
const AUDIT_PAGE = sql(
  `SELECT ${E.list} FROM audit_events
   WHERE coalesce(workspace_id, '') = ? AND seq > ? AND created_at >= ? AND created_at < ?
   ORDER BY seq LIMIT ?`,
  E.row,
);

/** The workspace's chained audit events written in the range, in chain order, after place `after`. */
export function auditPage(conn: Conn, r: Range, after: number, limit: number) {
  return conn.all(AUDIT_PAGE, [r.workspaceId, after, r.from, r.to, limit]);
}
