import { columns, select } from '../db/schema/columns.ts';
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

const COUNT = select({ count: 'count(*)' });
const counted = COUNT.map((r) => n(r.count));
/** A count per value of one column. */
const tally = (column: string) => {
  const list = select({ key: column, count: 'count(*)' });
  return { list: list.list, map: list.map((r): Tally => ({ key: r.key as string, count: n(r.count) })) };
};

const OPERATION_STATUS = select({ operation: 'operation', status: 'status', count: 'count(*)' });
const BY_OPERATION_STATUS = sql(
  `SELECT ${OPERATION_STATUS.list} FROM transactions
   WHERE workspace_id = ? AND created_at >= ? AND created_at < ?
   GROUP BY operation, status ORDER BY operation, status`,
  OPERATION_STATUS.map((r) => ({
    operation: r.operation as string,
    status: r.status as string,
    count: n(r.count),
  })),
);
/** Refused by the policy when admitted (or released): rejected without ever being parked for people. */
const POLICY_REJECTIONS = sql(
  `SELECT ${COUNT.list} FROM transactions
   WHERE workspace_id = ? AND created_at >= ? AND created_at < ? AND status = 'rejected' AND approval_id IS NULL`,
  counted,
);
const BY_STATUS = tally('status');
const APPROVALS_BY_STATUS = sql(
  `SELECT ${BY_STATUS.list} FROM approvals
   WHERE workspace_id = ? AND created_at >= ? AND created_at < ? GROUP BY status ORDER BY status`,
  BY_STATUS.map,
);
const MEMBER_VOTES = select({
  member_id: 'v.member_id',
  email: 'm.email',
  decision: 'v.decision',
  count: 'count(*)',
});
const VOTES_BY_MEMBER = sql(
  `SELECT ${MEMBER_VOTES.list} FROM approval_votes v
   JOIN approvals a ON a.id = v.approval_id
   LEFT JOIN members m ON m.id = v.member_id
   WHERE a.workspace_id = ? AND v.created_at >= ? AND v.created_at < ?
   GROUP BY v.member_id, m.email, v.decision ORDER BY v.member_id, v.decision`,
  MEMBER_VOTES.map((r) => ({
    memberId: r.member_id as string,
    email: (r.email as string | null) ?? null,
    decision: r.decision as string,
    count: n(r.count),
  })),
);
// A stage people decided (approved or rejected; expiry is the clock deciding), by decision time.
const DECIDED_STAGES = `FROM approval_stages s JOIN approvals a ON a.id = s.approval_id
   WHERE a.workspace_id = ? AND s.decided_at >= ? AND s.decided_at < ?
     AND s.status IN ('approved', 'rejected') AND s.activated_at IS NOT NULL`;
const DECIDED_COUNT = sql(`SELECT ${COUNT.list} ${DECIDED_STAGES}`, counted);
const DECISION_TIME = select({ ms: 's.decided_at - s.activated_at' });
const DECISION_TIME_AT = sql(
  `SELECT ${DECISION_TIME.list} ${DECIDED_STAGES}
   ORDER BY s.decided_at - s.activated_at LIMIT 1 OFFSET ?`,
  DECISION_TIME.map((r) => n(r.ms)),
);
const VERSION = select({
  name: 'pv.name',
  version: 'pv.version',
  created_by: 'pv.created_by',
  email: 'm.email',
  created_at: 'pv.created_at',
});
const POLICY_VERSIONS = sql(
  `SELECT ${VERSION.list} FROM policy_versions pv
   LEFT JOIN members m ON m.id = pv.created_by
   WHERE pv.workspace_id = ? AND pv.created_at >= ? AND pv.created_at < ?
   ORDER BY pv.created_at, pv.name, pv.version LIMIT ?`,
  VERSION.map((r) => ({
    name: r.name as string,
    version: n(r.version),
    createdBy: (r.created_by as string | null) ?? null,
    email: (r.email as string | null) ?? null,
    createdAt: n(r.created_at),
  })),
);
const POLICY_VERSION_COUNT = sql(
  `SELECT ${COUNT.list} FROM policy_versions WHERE workspace_id = ? AND created_at >= ? AND created_at < ?`,
  counted,
);
const KEYS_CREATED = sql(
  `SELECT ${COUNT.list} FROM agent_keys WHERE workspace_id = ? AND created_at >= ? AND created_at < ?`,
  counted,
);
const KEYS_REVOKED = sql(
  `SELECT ${COUNT.list} FROM agent_keys WHERE workspace_id = ? AND revoked_at >= ? AND revoked_at < ?`,
  counted,
);
const KEYS_ACTIVE = sql(
  `SELECT ${COUNT.list} FROM agent_keys WHERE workspace_id = ? AND revoked_at IS NULL`,
  counted,
);
const BY_ROLE = tally('role');
const MEMBERS_BY_ROLE = sql(
  `SELECT ${BY_ROLE.list} FROM members WHERE workspace_id = ? GROUP BY role ORDER BY role`,
  BY_ROLE.map,
);
const BY_ACTION = tally('action');
const AUDIT_BY_ACTION = sql(
  `SELECT ${BY_ACTION.list} FROM audit_events
   WHERE workspace_id = ? AND created_at >= ? AND created_at < ? GROUP BY action ORDER BY action`,
  BY_ACTION.map,
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
const STAGE = select({
  approval_id: 'a.id',
  transaction_id: 'a.transaction_id',
  approval_status: 'a.status',
  approval_created_at: 'a.created_at',
  position: 's.position',
  stage_index: 's.stage_index',
  role: 's.role',
  tier: 's.tier',
  quorum: 's.quorum',
  status: 's.status',
  activated_at: 's.activated_at',
  deadline_at: 's.deadline_at',
  decided_at: 's.decided_at',
});
const STAGES_PAGE = sql(
  `SELECT ${STAGE.list}
   FROM approvals a JOIN approval_stages s ON s.approval_id = a.id
   WHERE a.workspace_id = ? AND a.created_at >= ? AND a.created_at < ?
     AND (a.id > ? OR (a.id = ? AND s.position > ?))
   ORDER BY a.id, s.position LIMIT ?`,
  STAGE.map(
    (r): StageRow => ({
      approvalId: r.approval_id as string,
      transactionId: r.transaction_id as string,
      approvalStatus: r.approval_status as string,
      approvalCreatedAt: n(r.approval_created_at),
      position: n(r.position),
      stageIndex: n(r.stage_index),
      role: r.role as string,
      tier: r.tier as string,
      quorum: n(r.quorum),
      status: r.status as string,
      activatedAt: opt(r.activated_at),
      deadlineAt: opt(r.deadline_at),
      decidedAt: opt(r.decided_at),
    }),
  ),
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

const VOTE = select({
  approval_id: 'v.approval_id',
  position: 'v.position',
  member_id: 'v.member_id',
  email: 'm.email',
  decision: 'v.decision',
  reason: 'v.reason',
  via: 'v.via',
  created_at: 'v.created_at',
});

/** The votes on these approvals, oldest first, with the voter's email while they are a member. */
export function votesOf(conn: Conn, approvalIds: readonly string[]): Promise<VoteRow[]> {
  if (approvalIds.length === 0) return Promise.resolve([]);
  const text = `SELECT ${VOTE.list}
    FROM approval_votes v LEFT JOIN members m ON m.id = v.member_id
    WHERE v.approval_id IN (${placeholders(approvalIds.length)}) ORDER BY v.created_at, v.member_id`;
  return conn.all(
    sql(
      text,
      VOTE.map(
        (r): VoteRow => ({
          approvalId: r.approval_id as string,
          position: n(r.position),
          memberId: r.member_id as string,
          email: (r.email as string | null) ?? null,
          decision: r.decision as string,
          reason: (r.reason as string | null) ?? null,
          via: r.via as string,
          createdAt: n(r.created_at),
        }),
      ),
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
