import { canonicalJson } from '../../policy/canonical.ts';
import { sha256Hex } from '../crypto/jws.ts';
import { columns, only, type Row } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { AuditEvent, ChainedAuditEvent } from '../domain/index.ts';

/**
 * The audit trail (DESIGN §9): append-only, written in the transaction of the change it records,
 * and hash-chained per workspace (operator events without a workspace form one chain of their own):
 * each row's `hash` is the SHA-256 of RFC 8785 over every other column, `prev_hash` among them.
 */

const A = columns('audit_events', [
  'id',
  'workspace_id',
  'actor_type',
  'actor_id',
  'action',
  'target',
  'data',
  'created_at',
  'seq',
  'prev_hash',
  'hash',
]);
type AuditRow = Row<'audit_events'>;

const toRow = (raw: unknown[]): AuditRow => {
  const { id, workspace_id, actor_type, actor_id, action, target, data, created_at, seq, prev_hash, hash } =
    A.row(raw);
  return { id, workspace_id, actor_type, actor_id, action, target, data, created_at, seq, prev_hash, hash };
};
const toEvent = (raw: unknown[]): ChainedAuditEvent => {
  const r = toRow(raw);
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    actorType: r.actor_type as AuditEvent['actorType'],
    actorId: r.actor_id,
    action: r.action,
    target: r.target,
    data: JSON.parse(r.data),
    createdAt: r.created_at,
    seq: r.seq,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
};

/** The chain an event belongs to: its workspace, or '' for the operator's events. */
export const chainOf = (workspaceId: string | null): string => workspaceId ?? '';

/**
 * The hash of a row (DESIGN §9): SHA-256 (lowercase hex) of the RFC 8785 serialisation of an object
 * holding every column but `hash`, by column name, with the values as stored (`data` is the JSON
 * text as written). `prev_hash` is one of those columns, which is what links the chain.
 */
export function auditHash(row: Omit<AuditRow, 'hash'>): string {
  const { id, workspace_id, actor_type, actor_id, action, target, data, created_at, seq, prev_hash } = row;
  return sha256Hex(
    canonicalJson({
      id,
      workspace_id,
      actor_type,
      actor_id,
      action,
      target,
      data,
      created_at,
      seq,
      prev_hash,
    }),
  );
}

const LINK = columns('audit_events', ['seq', 'hash']);
const HEAD = sql(
  `SELECT ${LINK.list} FROM audit_events WHERE coalesce(workspace_id, '') = ? AND seq IS NOT NULL
   ORDER BY seq DESC LIMIT 1`,
  LINK.map((r) => ({ seq: Number(r.seq), hash: r.hash as string })),
);
// The unique (chain, seq) index: a place taken by another writer is not written (0 rows) rather
// than an error that would roll back the change being audited; the event is placed again.
const INSERT = sql(
  `INSERT INTO audit_events (${A.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq`,
);
const UNCHAINED = sql(
  `SELECT ${A.list} FROM audit_events WHERE hash IS NULL ORDER BY created_at, id LIMIT ?`,
  toRow,
);
const CHAIN_ROW = sql(
  'UPDATE audit_events SET seq = ?, prev_hash = ?, hash = ? WHERE id = ? AND hash IS NULL',
);
const CHAIN_PAGE = sql(
  `SELECT ${A.list} FROM audit_events WHERE coalesce(workspace_id, '') = ? AND seq > ?
   ORDER BY seq LIMIT ?`,
  toRow,
);
const UNCHAINED_IN = sql(
  `SELECT id FROM audit_events WHERE coalesce(workspace_id, '') = ? AND hash IS NULL ORDER BY created_at, id LIMIT 1`,
  only<string>,
);
const CHAINS = sql(`SELECT DISTINCT coalesce(workspace_id, '') FROM audit_events`, only<string>);

/** Appends `e` to its chain in `tx`, after the chain's current head. */
export async function appendAudit(tx: Conn, e: AuditEvent): Promise<void> {
  const data = JSON.stringify(e.data);
  for (let attempt = 0; attempt < 20; attempt++) {
    const head = await tx.get(HEAD, [chainOf(e.workspaceId)]);
    const row: Omit<AuditRow, 'hash'> = {
      id: e.id,
      workspace_id: e.workspaceId,
      actor_type: e.actorType,
      actor_id: e.actorId,
      action: e.action,
      target: e.target,
      data,
      created_at: e.createdAt,
      seq: (head?.seq ?? 0) + 1,
      prev_hash: head?.hash ?? null,
    };
    const hash = auditHash(row);
    const params = [...A.names.slice(0, -1).map((c) => row[c as keyof typeof row]), hash];
    if ((await tx.all(INSERT, params)).length > 0) return;
  }
  throw new Error(`Could not append audit event ${e.id} to its chain.`);
}

/**
 * Chains rows written before the chain existed (or by an older replica), oldest first, after each
 * chain's head; at most `limit` per call. Answers how many it chained.
 */
export async function chainUnchained(tx: Conn, limit: number): Promise<number> {
  let chained = 0;
  for (const row of await tx.all(UNCHAINED, [limit])) {
    const head = await tx.get(HEAD, [chainOf(row.workspace_id)]);
    const placed = { ...row, seq: (head?.seq ?? 0) + 1, prev_hash: head?.hash ?? null };
    if ((await tx.run(CHAIN_ROW, [placed.seq, placed.prev_hash, auditHash(placed), row.id])) > 0) chained++;
  }
  return chained;
}

/** Every chain there is: workspace ids, and '' for the operator's. */
export function auditChains(conn: Conn): Promise<string[]> {
  return conn.all(CHAINS);
}

/** A chain's rows in order, `limit` after place `after`. */
export function chainPage(conn: Conn, chain: string, after: number, limit: number): Promise<AuditRow[]> {
  return conn.all(CHAIN_PAGE, [chain, after, limit]);
}

/** The first row of the chain that was never chained (written around the chain): broken. */
export function firstUnchained(conn: Conn, chain: string): Promise<string | undefined> {
  return conn.get(UNCHAINED_IN, [chain]);
}

export interface AuditQuery {
  limit: number;
  /** An event id to continue after (newest first). */
  cursor?: string;
  action?: string;
  actorId?: string;
  target?: string;
  from?: number;
  to?: number;
}

/** Newest first, filtered; `cursor` is the last id of the previous page; within [lo, hi) when given. */
export function listAudit(
  conn: Conn,
  workspaceId: string,
  q: AuditQuery & { lo?: string; hi?: string },
): Promise<ChainedAuditEvent[]> {
  const where = ['workspace_id = ?'];
  const params: unknown[] = [workspaceId];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (q.cursor !== undefined) add('id < ?', q.cursor);
  if (q.lo !== undefined) add('id >= ?', q.lo);
  if (q.hi !== undefined) add('id < ?', q.hi);
  if (q.action !== undefined) {
    // `approval.*` names a family of actions.
    if (q.action.endsWith('.*')) {
      // A prefix compared as such: no LIKE, so `_` and `%` in action names mean themselves.
      const prefix = q.action.slice(0, -1);
      where.push('substr(action, 1, ?) = ?');
      params.push(prefix.length, prefix);
    } else add('action = ?', q.action);
  }
  if (q.actorId !== undefined) add('actor_id = ?', q.actorId);
  if (q.target !== undefined) add('target = ?', q.target);
  if (q.from !== undefined) add('created_at >= ?', q.from);
  if (q.to !== undefined) add('created_at < ?', q.to);
  params.push(q.limit);
  const text = `SELECT ${A.list} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`;
  return conn.all(sql(text, toEvent), params);
}

/**
 * The `n`-th event id of the workspace below `hi` (all when undefined), counting down (a walk of
 * `n` entries of `audit_events_ws_id`), or undefined when there are fewer.
 */
export function nthAuditIdDown(
  conn: Conn,
  workspaceId: string,
  hi: string | undefined,
  n: number,
): Promise<string | undefined> {
  const below = hi === undefined ? '' : ' AND id < ?';
  const text = `SELECT id FROM audit_events WHERE workspace_id = ?${below} ORDER BY id DESC LIMIT 1 OFFSET ?`;
  return conn.get(
    sql(text, only<string>),
    hi === undefined ? [workspaceId, n - 1] : [workspaceId, hi, n - 1],
  );
}
