import { columns, only, onlyNumber } from '../db/schema/columns.ts';
import { type Conn, placeholders, type Statement, sql } from '../db/types.ts';
import type {
  Approval,
  ApprovalStage,
  ApprovalStatus,
  ApprovalVote,
  DueStage,
  Role,
  StagePlan,
  StageStatus,
} from '../domain/index.ts';

/** Approvals, their ordered stages and the votes on them (DESIGN §6). Rules live in services. */

const A = columns('approvals', [
  'id',
  'workspace_id',
  'transaction_id',
  'request_hash',
  'status',
  'created_at',
  'updated_at',
]);
const S = columns('approval_stages', [
  'approval_id',
  'position',
  'stage_index',
  'role',
  'tier',
  'quorum',
  'timeout_seconds',
  'on_timeout',
  'status',
  'activated_at',
  'deadline_at',
  'decided_at',
]);
const toStage = (raw: unknown[]): ApprovalStage => {
  const {
    position,
    stage_index: index,
    role,
    tier,
    quorum,
    timeout_seconds: timeoutSeconds,
    on_timeout: onTimeout,
    status,
    activated_at: activatedAt,
    deadline_at: deadlineAt,
    decided_at: decidedAt,
  } = S.row(raw);
  return {
    position,
    index,
    role: role as Role,
    tier: tier as ApprovalStage['tier'],
    quorum,
    timeoutSeconds,
    onTimeout: onTimeout as ApprovalStage['onTimeout'],
    status: status as StageStatus,
    activatedAt,
    deadlineAt,
    decidedAt,
  };
};
const VT = columns('approval_votes', [
  'approval_id',
  'member_id',
  'position',
  'decision',
  'reason',
  'via',
  'created_at',
]);
const toVote = (raw: unknown[]): ApprovalVote => {
  const { member_id: memberId, position, decision, reason, via, created_at: createdAt } = VT.row(raw);
  return {
    memberId,
    position,
    decision: decision as ApprovalVote['decision'],
    reason,
    via: via as ApprovalVote['via'],
    createdAt,
  };
};

const INSERT_APPROVAL = sql(`INSERT INTO approvals (${A.list}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
const INSERT_STAGE = sql(
  `INSERT INTO approval_stages (${S.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const APPROVAL = sql(`SELECT ${A.list} FROM approvals WHERE id = ? AND workspace_id = ?`, (raw) =>
  A.row(raw),
);
const APPROVAL_BY_ID = sql(`SELECT ${A.list} FROM approvals WHERE id = ?`, (raw) => A.row(raw));
const STAGES = sql(`SELECT ${S.list} FROM approval_stages WHERE approval_id = ? ORDER BY position`, toStage);
const VOTES = sql(`SELECT ${VT.list} FROM approval_votes WHERE approval_id = ? ORDER BY created_at`, toVote);
/** [approval id, item] pairs, in order, as lists per approval id. */
function groupBy<T>(pairs: readonly (readonly [string, T])[]): Map<string, T[]> {
  const by = new Map<string, T[]>();
  for (const [id, item] of pairs) {
    const list = by.get(id);
    if (list) list.push(item);
    else by.set(id, [item]);
  }
  return by;
}

const stagesOf = (n: number) =>
  sql(
    `SELECT ${S.list} FROM approval_stages WHERE approval_id IN (${placeholders(n)}) ORDER BY approval_id, position`,
    (raw) => [S.row(raw).approval_id, toStage(raw)] as const,
  );
const votesOf = (n: number) =>
  sql(
    `SELECT ${VT.list} FROM approval_votes WHERE approval_id IN (${placeholders(n)}) ORDER BY approval_id, created_at`,
    (raw) => [VT.row(raw).approval_id, toVote(raw)] as const,
  );
const INSERT_VOTE = sql(
  `INSERT INTO approval_votes (${VT.list}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING member_id`,
);
const SET_APPROVAL = sql('UPDATE approvals SET status = ?, updated_at = ? WHERE id = ?');
const SET_STAGE = sql(
  'UPDATE approval_stages SET status = ?, decided_at = ? WHERE approval_id = ? AND position = ?',
);
const ACTIVATE = sql(
  `UPDATE approval_stages SET status = 'pending', activated_at = ?, deadline_at = ?
   WHERE approval_id = ? AND position = ?`,
);
const DUE_STAGE = columns('approval_stages', ['approval_id', 'position']);
const DUE = sql(
  `SELECT ${DUE_STAGE.list} FROM approval_stages
   WHERE status = 'pending' AND deadline_at <= ? ORDER BY deadline_at LIMIT ?`,
  DUE_STAGE.map((r): DueStage => ({ approvalId: r.approval_id, position: r.position })),
);
/** The claim: only a still-active, due stage moves; a racing vote or another process finds nothing. */
const EXPIRE = sql(
  `UPDATE approval_stages SET status = 'expired', decided_at = ?
   WHERE approval_id = ? AND position = ? AND status = 'pending' AND deadline_at <= ?`,
);

/** A parked transaction's approval with its stages, the first one active from `now`. */
export async function insertApproval(
  tx: Conn,
  a: { id: string; workspaceId: string; transactionId: string; requestHash: string },
  stages: StagePlan[],
  now: number,
): Promise<void> {
  await tx.run(
    INSERT_APPROVAL,
    A.values({
      id: a.id,
      workspace_id: a.workspaceId,
      transaction_id: a.transactionId,
      request_hash: a.requestHash,
      status: 'pending',
      created_at: now,
      updated_at: now,
    }),
  );
  for (const [position, stage] of stages.entries()) {
    const active = position === 0;
    await tx.run(
      INSERT_STAGE,
      S.values({
        approval_id: a.id,
        position,
        stage_index: stage.index,
        role: stage.role,
        tier: stage.tier,
        quorum: stage.quorum,
        timeout_seconds: stage.timeoutSeconds,
        on_timeout: stage.onTimeout,
        status: active ? 'pending' : 'waiting',
        activated_at: active ? now : null,
        deadline_at: active ? now + stage.timeoutSeconds * 1000 : null,
        decided_at: null,
      }),
    );
  }
}

async function assemble(
  conn: Conn,
  row: ReturnType<typeof A.row> | undefined,
): Promise<Approval | undefined> {
  if (!row) return undefined;
  const {
    id,
    workspace_id: workspaceId,
    transaction_id: transactionId,
    request_hash: requestHash,
    status,
    created_at: createdAt,
    updated_at: updatedAt,
  } = row;
  const [stages, votes] = [await conn.all(STAGES, [id]), await conn.all(VOTES, [id])];
  return {
    id,
    workspaceId,
    transactionId,
    requestHash,
    status: status as ApprovalStatus,
    stages,
    votes,
    createdAt,
    updatedAt,
  };
}

export async function getApproval(
  conn: Conn,
  workspaceId: string,
  id: string,
): Promise<Approval | undefined> {
  return assemble(conn, await conn.get(APPROVAL, [id, workspaceId]));
}

/** By id alone, for background steps that start from a stage. */
export async function getApprovalById(conn: Conn, id: string): Promise<Approval | undefined> {
  return assemble(conn, await conn.get(APPROVAL_BY_ID, [id]));
}

const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected', 'expired'];
// The newest of each of some statuses (one ordered walk of approvals_ws_status each), merged in the
// database: only the page's rows come back.
const newestOf = new Map<string, Statement<ApprovalRow>>();
function newest(statuses: readonly ApprovalStatus[]): Statement<ApprovalRow> {
  const key = statuses.join(' ');
  let statement = newestOf.get(key);
  if (!statement) {
    const each = statuses.map(
      (status, i) =>
        `SELECT ${A.list} FROM (SELECT ${A.list} FROM approvals WHERE workspace_id = ? AND status = '${status}'
           ORDER BY id DESC LIMIT ?) AS s${i}`,
    );
    statement = sql(
      `SELECT ${A.list} FROM (${each.join(' UNION ALL ')}) AS newest ORDER BY id DESC LIMIT ?`,
      (raw) => A.row(raw),
    );
    newestOf.set(key, statement);
  }
  return statement;
}
// Pending ones whose active stage the role decides, found in the database: no stages read for the
// others. Each approval's stages are found by its key; SQLite is told (`+`) not to take
// approval_stages_due instead, which would walk every pending stage of the gateway per approval.
const pendingForRole = (stageStatus: string) =>
  sql(
    `SELECT ${A.list} FROM approvals
     WHERE workspace_id = ? AND status = 'pending' AND EXISTS (
       SELECT 1 FROM approval_stages s
       WHERE s.approval_id = approvals.id AND ${stageStatus} = 'pending' AND s.role = ?)
     ORDER BY id DESC LIMIT ?`,
    (raw) => A.row(raw),
  );
const PENDING_FOR_ROLE = { sqlite: pendingForRole('+s.status'), postgres: pendingForRole('s.status') };

type ApprovalRow = ReturnType<typeof A.row>;

/**
 * Approvals' own rows, newest first: of some statuses (all when none is named), or with a role the
 * pending ones whose active stage that role decides. Each status is one walk of
 * `approvals_ws_status` (workspace, status, id) that stops at the limit (issue 18: a sort of every
 * approval of the workspace took 20-60 ms at 2,000 pending). `withStagesAndVotes` completes them.
 */
export function approvalRows(
  conn: Conn,
  workspaceId: string,
  f: { statuses?: readonly ApprovalStatus[]; role?: Role; limit: number },
): Promise<ApprovalRow[]> {
  if (f.role) return conn.all(PENDING_FOR_ROLE[conn.dialect], [workspaceId, f.role, f.limit]);
  const statuses = f.statuses ?? APPROVAL_STATUSES;
  return conn.all(newest(statuses), [...statuses.flatMap(() => [workspaceId, f.limit]), f.limit]);
}

/** The approvals of `rows` with their stages and votes: two statements for the whole page. */
export async function withStagesAndVotes(conn: Conn, rows: ApprovalRow[]): Promise<Approval[]> {
  const ids = rows.map((row) => row.id);
  const [stages, votes] =
    ids.length === 0
      ? [[], []]
      : [await conn.all(stagesOf(ids.length), ids), await conn.all(votesOf(ids.length), ids)];
  const stagesBy = groupBy(stages);
  const votesBy = groupBy(votes);
  return rows.map((row) => ({
    id: row.id,
    workspaceId: row.workspace_id,
    transactionId: row.transaction_id,
    requestHash: row.request_hash,
    status: row.status as ApprovalStatus,
    stages: stagesBy.get(row.id) ?? [],
    votes: votesBy.get(row.id) ?? [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }));
}

/** False when this member already voted on this approval (the key stops anyone voting twice). */
export async function insertVote(tx: Conn, approvalId: string, v: ApprovalVote): Promise<boolean> {
  const rows = await tx.all(
    INSERT_VOTE,
    VT.values({
      approval_id: approvalId,
      member_id: v.memberId,
      position: v.position,
      decision: v.decision,
      reason: v.reason,
      via: v.via,
      created_at: v.createdAt,
    }),
  );
  return rows.length > 0;
}

export async function setApprovalStatus(
  tx: Conn,
  id: string,
  status: ApprovalStatus,
  at: number,
): Promise<void> {
  await tx.run(SET_APPROVAL, [status, at, id]);
}

export async function setStageStatus(
  tx: Conn,
  approvalId: string,
  position: number,
  status: StageStatus,
  at: number | null,
): Promise<void> {
  await tx.run(SET_STAGE, [status, at, approvalId, position]);
}

export async function activateStage(
  tx: Conn,
  approvalId: string,
  stage: ApprovalStage,
  now: number,
): Promise<void> {
  await tx.run(ACTIVATE, [now, now + stage.timeoutSeconds * 1000, approvalId, stage.position]);
}

export function dueStages(conn: Conn, now: number, limit: number): Promise<DueStage[]> {
  return conn.all(DUE, [now, limit]);
}

/** True for the one caller that expired this still-active, due stage. */
export async function expireStage(tx: Conn, due: DueStage, now: number): Promise<boolean> {
  return (await tx.run(EXPIRE, [now, due.approvalId, due.position, now])) > 0;
}

const WORKSPACE_OF = sql('SELECT workspace_id FROM approvals WHERE id = ?', only<string>);

/** The workspace an approval belongs to, to scope a step that starts from its id. */
export function workspaceOfApproval(conn: Conn, id: string): Promise<string | undefined> {
  return conn.get(WORKSPACE_OF, [id]);
}

const APPROVERS = sql(
  `SELECT member_id FROM approval_votes WHERE approval_id = ? AND decision = 'approve' ORDER BY position, created_at, member_id`,
  only<string>,
);

/** The members who approved, stage by stage (a receipt names them: DESIGN §9). */
export function approversOf(conn: Conn, approvalId: string): Promise<string[]> {
  return conn.all(APPROVERS, [approvalId]);
}

const PENDING_COUNT = sql("SELECT COUNT(*) FROM approvals WHERE status = 'pending'", onlyNumber);

/** Approvals still waiting for a decision, in every workspace (the warden_approvals_pending gauge). */
export async function countPendingApprovals(conn: Conn): Promise<number> {
  return (await conn.get(PENDING_COUNT)) ?? 0;
}
