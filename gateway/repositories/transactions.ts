import { columns, only, select } from '../db/schema/columns.ts';
import { type Conn, placeholders, sql } from '../db/types.ts';
import type {
  Operation,
  SpendState,
  SpendTotals,
  SpendWindow,
  Transaction,
  TransactionError,
  TransactionFilter,
  TransactionStatus,
} from '../domain/index.ts';
import { fromJson, toJson } from './json.ts';

/** The ledger's rows (DESIGN §9) and the spend they reserve and post (DESIGN §6). */

const X = columns('transactions', [
  'id',
  'workspace_id',
  'agent_key_id',
  'agent_id',
  'business_id',
  'operation',
  'status',
  'request',
  'request_hash',
  'amount',
  'currency',
  'data',
  'error',
  'decision',
  'policy_version_id',
  'policy_name',
  'business_category',
  'spend_state',
  'release_at',
  'approval_id',
  'idempotency_key',
  'request_id',
  'callback_url',
  'created_at',
  'updated_at',
  'mcp',
  'cost_micros',
  'trace_id',
  'oauth_client_id',
  'trace_context',
]);

export const toTransaction = (raw: unknown[]): Transaction => {
  const r = X.row(raw);
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    agentKeyId: r.agent_key_id,
    agentId: r.agent_id,
    businessId: r.business_id,
    operation: r.operation as Operation,
    status: r.status as TransactionStatus,
    request: JSON.parse(r.request),
    requestHash: r.request_hash,
    amount: r.amount,
    currency: r.currency,
    data: fromJson(r.data),
    error: fromJson(r.error),
    decision: fromJson(r.decision),
    policyVersionId: r.policy_version_id,
    policyName: r.policy_name,
    businessCategory: r.business_category,
    spendState: r.spend_state as SpendState,
    releaseAt: r.release_at,
    approvalId: r.approval_id,
    idempotencyKey: r.idempotency_key,
    requestId: r.request_id,
    callbackUrl: r.callback_url,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    mcp: fromJson(r.mcp) as Transaction['mcp'],
    costMicros: r.cost_micros,
    traceId: r.trace_id,
    oauthClientId: r.oauth_client_id,
    traceContext: fromJson(r.trace_context) as Transaction['traceContext'],
  };
};

/** What settling a transaction needs: the spend it moves, and who to answer and notify. */
export type Settled = Pick<
  Transaction,
  | 'id'
  | 'workspaceId'
  | 'operation'
  | 'businessId'
  | 'agentKeyId'
  | 'idempotencyKey'
  | 'amount'
  | 'currency'
  | 'businessCategory'
  | 'createdAt'
  | 'spendState'
  | 'status'
>;
const SETTLED = columns('transactions', [
  'id',
  'workspace_id',
  'operation',
  'business_id',
  'agent_key_id',
  'idempotency_key',
  'amount',
  'currency',
  'business_category',
  'created_at',
  'spend_state',
  'status',
]);
const toSettled = (raw: unknown[]): Settled => {
  const r = SETTLED.row(raw);
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    operation: r.operation as Operation,
    businessId: r.business_id,
    agentKeyId: r.agent_key_id,
    idempotencyKey: r.idempotency_key,
    amount: r.amount,
    currency: r.currency,
    businessCategory: r.business_category,
    createdAt: r.created_at,
    spendState: r.spend_state as SpendState,
    status: r.status as TransactionStatus,
  };
};

const rowOf = (t: Transaction): unknown[] =>
  X.values({
    id: t.id,
    workspace_id: t.workspaceId,
    agent_key_id: t.agentKeyId,
    agent_id: t.agentId,
    business_id: t.businessId,
    operation: t.operation,
    status: t.status,
    request: JSON.stringify(t.request),
    request_hash: t.requestHash,
    amount: t.amount,
    currency: t.currency,
    data: toJson(t.data),
    error: toJson(t.error),
    decision: toJson(t.decision),
    policy_version_id: t.policyVersionId,
    policy_name: t.policyName,
    business_category: t.businessCategory,
    spend_state: t.spendState,
    release_at: t.releaseAt,
    approval_id: t.approvalId,
    idempotency_key: t.idempotencyKey,
    request_id: t.requestId,
    callback_url: t.callbackUrl,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    mcp: toJson(t.mcp),
    cost_micros: t.costMicros,
    trace_id: t.traceId,
    oauth_client_id: t.oauthClientId,
    trace_context: t.traceContext && toJson(t.traceContext),
  });

const INSERT = sql(`INSERT INTO transactions (${X.list}) VALUES (${placeholders(30)})`);
const BY_ID = sql(`SELECT ${X.list} FROM transactions WHERE id = ?`, toTransaction);
const IN_WORKSPACE = sql(
  `SELECT ${X.list} FROM transactions WHERE id = ? AND workspace_id = ?`,
  toTransaction,
);
const DUE_QUEUED = sql(
  `SELECT ${X.list} FROM transactions WHERE status = 'queued' AND release_at <= ? ORDER BY release_at LIMIT ?`,
  toTransaction,
);

export async function insertTransaction(tx: Conn, t: Transaction): Promise<void> {
  await tx.run(INSERT, rowOf(t));
}

export function getTransaction(
  conn: Conn,
  workspaceId: string,
  id: string,
): Promise<Transaction | undefined> {
  return conn.get(IN_WORKSPACE, [id, workspaceId]);
}

/** For steps that start from an id the workspace already owns (an approval's transaction). */
export function getTransactionById(conn: Conn, id: string): Promise<Transaction | undefined> {
  return conn.get(BY_ID, [id]);
}

/** A span of ledger ids, [lo, hi); a missing end is open. */
export interface IdSpan {
  lo?: string;
  hi?: string;
}

const spanned = (where: string[], params: unknown[], span: IdSpan) => {
  if (span.lo !== undefined) {
    where.push('id >= ?');
    params.push(span.lo);
  }
  if (span.hi !== undefined) {
    where.push('id < ?');
    params.push(span.hi);
  }
};

/** Newest first, filtered, within `span` too; at most `f.limit`. */
export function listTransactions(
  conn: Conn,
  workspaceId: string,
  f: TransactionFilter & IdSpan,
): Promise<Transaction[]> {
  const where = ['workspace_id = ?'];
  const params: unknown[] = [workspaceId];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (f.status) add('status = ?', f.status);
  if (f.operation) add('operation = ?', f.operation);
  if (f.businessId) add('business_id = ?', f.businessId);
  if (f.agentId) add('agent_id = ?', f.agentId);
  if (f.from !== undefined) add('created_at >= ?', f.from);
  if (f.to !== undefined) add('created_at < ?', f.to);
  if (f.amountMin !== undefined) add('amount >= ?', f.amountMin);
  if (f.amountMax !== undefined) add('amount <= ?', f.amountMax);
  if (f.cursor) add('id < ?', f.cursor);
  spanned(where, params, f);
  params.push(f.limit);
  const text = `SELECT ${X.list} FROM transactions WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`;
  return conn.all(sql(text, toTransaction), params);
}

const RECENT_OF_POLICY = sql(
  `SELECT ${X.list} FROM transactions
   WHERE workspace_id = ? AND policy_name = ? AND operation = 'execute' AND business_id IS NOT NULL
   ORDER BY id DESC LIMIT ?`,
  toTransaction,
);

/** The newest executes a policy decided, newest first (issue 23: a dry run replays them). */
export function recentExecutesOf(
  conn: Conn,
  workspaceId: string,
  policyName: string,
  limit: number,
): Promise<Transaction[]> {
  return conn.all(RECENT_OF_POLICY, [workspaceId, policyName, limit]);
}

/**
 * The `n`-th id of the workspace's ledger in `span`, counting down from its top (a walk of `n`
 * entries of `transactions_ws_id`, nothing else read), or undefined when the span holds fewer.
 */
export async function nthIdDown(
  conn: Conn,
  workspaceId: string,
  span: IdSpan,
  n: number,
): Promise<string | undefined> {
  const where = ['workspace_id = ?'];
  const params: unknown[] = [workspaceId];
  spanned(where, params, span);
  const text = `SELECT id FROM transactions WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT 1 OFFSET ?`;
  return conn.get(sql(text, only<string>), [...params, n - 1]);
}

/** Queued transactions whose window opened by `now` (the release job). */
export function dueQueued(conn: Conn, now: number, limit: number): Promise<Transaction[]> {
  return conn.all(DUE_QUEUED, [now, limit]);
}

// ── moving a transaction along ────────────────────────────────────────────────────────────────────

const ADMIT_EXISTING = sql(
  `UPDATE transactions SET status = ?, decision = ?, release_at = ?, approval_id = ?, updated_at = ?
   WHERE id = ? AND status = ?`,
);
const APPROVED = sql(
  `UPDATE transactions
   SET status = CASE WHEN operation = 'evaluate' THEN 'approved' ELSE 'pending' END, updated_at = ?
   WHERE id = ? AND status = 'pending_approval' AND request_hash = ?
   RETURNING ${X.list}`,
  toTransaction,
);
/**
 * An outcome: only from `pending` or `unknown` (of two finishes one moves it; a late answer settles
 * an unknown one). The reservation moves with it in the same statement: posted on success, kept
 * while the outcome is unknown, voided otherwise; the caller moves the amounts (`settleSpend`).
 */
const FINISH = sql(
  `UPDATE transactions SET status = ?, data = ?, error = ?, updated_at = ?,
     spend_state = CASE WHEN spend_state = 'pending' THEN ? ELSE spend_state END
   WHERE id = ? AND status IN (${placeholders(2)})
   RETURNING ${SETTLED.list}`,
  toSettled,
);
const END_PARKED = sql(
  `UPDATE transactions SET status = ?, updated_at = ?, decision = coalesce(?, decision),
     spend_state = CASE WHEN spend_state = 'pending' THEN 'voided' ELSE spend_state END
   WHERE id = ? AND status IN ('pending_approval', 'queued')
   RETURNING ${SETTLED.list}`,
  toSettled,
);
const CLAIM_UNKNOWN = sql(
  `UPDATE transactions SET status = 'pending', updated_at = ?
   WHERE id = ? AND workspace_id = ? AND status = 'unknown'
   RETURNING ${X.list}`,
  toTransaction,
);
const ORPHANS = sql(
  `UPDATE transactions SET status = ?, error = ?, updated_at = ?
   WHERE status = 'pending' AND updated_at < ? AND operation IN (${placeholders(2)})`,
);

/** A queued transaction re-admitted (released): its new status and decision, if it is still queued. */
export async function readmit(
  tx: Conn,
  t: Pick<Transaction, 'id' | 'status' | 'decision' | 'releaseAt' | 'approvalId' | 'updatedAt'>,
  from: TransactionStatus,
): Promise<boolean> {
  const params = [t.status, toJson(t.decision), t.releaseAt, t.approvalId, t.updatedAt, t.id, from];
  return (await tx.run(ADMIT_EXISTING, params)) > 0;
}

/** The one conditional change that makes an approved request execute at most once. */
export function approve(tx: Conn, id: string, requestHash: string, at: number) {
  return tx.get(APPROVED, [at, id, requestHash]);
}

export interface Finish {
  id: string;
  status: TransactionStatus;
  data: unknown;
  error: TransactionError | null;
  at: number;
  /** Where it must be now: `pending`, or `unknown` too (a late answer, a repeat, an admin). */
  from:
    | readonly ['pending', 'unknown']
    | readonly ['unknown', 'unknown']
    /** An evaluation's receipt (DESIGN §5). */
    | readonly ['approved', 'approved'];
}

/** The transaction as finished, or undefined when it was not in `from` (finished already). */
export function finish(tx: Conn, f: Finish): Promise<Settled | undefined> {
  const spend: SpendState =
    f.status === 'succeeded' ? 'posted' : f.status === 'unknown' ? 'pending' : 'voided';
  return tx.get(FINISH, [f.status, toJson(f.data), toJson(f.error), f.at, spend, f.id, ...f.from]);
}

/**
 * A parked transaction ends without executing (rejected, expired), with the decision that ended it
 * when there is a new one: its reservation is voided (the caller moves the amounts, `settleSpend`).
 */
export function endParked(
  tx: Conn,
  id: string,
  status: 'rejected' | 'expired',
  at: number,
  decision?: unknown,
) {
  return tx.get(END_PARKED, [status, at, decision === undefined ? null : JSON.stringify(decision), id]);
}

/** Takes an `unknown` execute back to `pending` to forward it again; undefined when another took it. */
export function claimUnknown(tx: Conn, workspaceId: string, id: string, at: number) {
  return tx.get(CLAIM_UNKNOWN, [at, id, workspaceId]);
}

/** Pending transactions last touched before `before`: executes become unknown, reads fail. */
export async function markOrphans(
  tx: Conn,
  before: number,
  at: number,
  errors: { execute: TransactionError; read: TransactionError },
): Promise<{ unknown: number; failed: number }> {
  const unknown = await tx.run(ORPHANS, [
    'unknown',
    JSON.stringify(errors.execute),
    at,
    before,
    'execute',
    'execute',
  ]);
  const failed = await tx.run(ORPHANS, [
    'failed',
    JSON.stringify(errors.read),
    at,
    before,
    'discover',
    'query',
  ]);
  return { unknown, failed };
}

// ── spend (DESIGN §6: a two-phase transfer per transaction, totals per workspace and minute) ──────

const MINUTE = 60_000;
const minuteOf = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;

// The bucket of this process's shard (the `shard` column of spend_buckets): on PostgreSQL the
// `warden.shard` setting of the gateway's connections, so replicas never wait for each other's row.
const moveSpendIn = (shard: string) =>
  sql(
    `INSERT INTO spend_buckets (workspace_id, category, currency, minute, pending, posted, shard)
     VALUES (?, ?, ?, ?, ?, ?, ${shard})
     ON CONFLICT (workspace_id, minute, category, currency, shard) DO UPDATE SET
       pending = spend_buckets.pending + excluded.pending, posted = spend_buckets.posted + excluded.posted`,
  );
const MOVE_SPEND = {
  sqlite: moveSpendIn('0'),
  postgres: moveSpendIn(`coalesce(nullif(current_setting('warden.shard', true), '')::integer, 0)`),
};
const FIRST_SUCCEEDED = sql(
  `SELECT id FROM transactions
   WHERE workspace_id = ? AND business_id = ? AND status = 'succeeded' AND operation = 'execute' LIMIT 1`,
);

/** Adds to the minute bucket of a transaction's admission (negative amounts take away). */
async function moveSpend(tx: Conn, t: Settled, pending: number, posted: number): Promise<void> {
  await tx.run(MOVE_SPEND[tx.dialect], [
    t.workspaceId,
    t.businessCategory ?? '',
    t.currency ?? '',
    minuteOf(t.createdAt),
    pending,
    posted,
  ]);
}

/** Admission: the amount becomes pending (the transaction's spend_state is `pending`). */
export function reserveSpend(tx: Conn, t: Transaction): Promise<void> {
  return moveSpend(tx, t, t.amount ?? 0, 0);
}

/**
 * The second phase, once: call it with the transaction as `finish`/`endParked` returned it, whose
 * spend_state that same statement moved from pending (conditional updates are the guard).
 */
export async function settleSpend(tx: Conn, t: Settled): Promise<void> {
  if (t.amount === null || t.amount === 0) return;
  if (t.spendState === 'posted') await moveSpend(tx, t, -t.amount, t.amount);
  else if (t.spendState === 'voided') await moveSpend(tx, t, -t.amount, 0);
}

export interface SpendQuery extends SpendWindow {
  workspaceId: string;
  /** Leave this transaction's own reservation out (a queued request being released). */
  excluding?: Transaction;
}

const SPEND_TOTALS = select({ pending: 'coalesce(sum(pending), 0)', posted: 'coalesce(sum(posted), 0)' });

/** Reserved and posted spend of the workspace in the window (every execute counts, DESIGN §6). */
export async function sumSpend(conn: Conn, q: SpendQuery): Promise<SpendTotals> {
  const categories = q.categories ?? [];
  const byCategory = categories.length > 0 ? ` AND category IN (${placeholders(categories.length)})` : '';
  const text = `SELECT ${SPEND_TOTALS.list} FROM spend_buckets
    WHERE workspace_id = ? AND minute >= ? AND currency = ?${byCategory}`;
  const row = await conn.get(
    sql(
      text,
      SPEND_TOTALS.map((r) => ({ pending: Number(r.pending), posted: Number(r.posted) })),
    ),
    [q.workspaceId, minuteOf(q.since), q.currency, ...categories],
  );
  const totals = row ?? { pending: 0, posted: 0 };
  const own = q.excluding;
  if (own?.spendState === 'pending' && own.amount !== null && counts(own, q)) totals.pending -= own.amount;
  return totals;
}

function counts(t: Transaction, q: SpendQuery): boolean {
  return (
    (t.currency ?? '') === q.currency &&
    t.createdAt >= minuteOf(q.since) &&
    (!q.categories || q.categories.includes(t.businessCategory ?? ''))
  );
}

/** No succeeded execute with this business in this workspace yet (DESIGN §6 first_time_business). */
export async function firstTimeBusiness(
  conn: Conn,
  workspaceId: string,
  businessId: string,
): Promise<boolean> {
  return (await conn.get(FIRST_SUCCEEDED, [workspaceId, businessId])) === undefined;
}
