import { columns } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { AuditEvent } from '../domain/index.ts';

/** The audit trail (DESIGN §9): append-only, written in the transaction of the change it records. */

const A = columns('audit_events', [
  'id',
  'workspace_id',
  'actor_type',
  'actor_id',
  'action',
  'target',
  'data',
  'created_at',
]);
const toEvent = (raw: unknown[]): AuditEvent => {
  const [id, workspaceId, actorType, actorId, action, target, data, createdAt] = A.row(raw);
  return {
    id,
    workspaceId,
    actorType: actorType as AuditEvent['actorType'],
    actorId,
    action,
    target,
    data: JSON.parse(data),
    createdAt,
  };
};
const INSERT = sql(`INSERT INTO audit_events (${A.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);

export async function appendAudit(tx: Conn, e: AuditEvent): Promise<void> {
  await tx.run(INSERT, [
    e.id,
    e.workspaceId,
    e.actorType,
    e.actorId,
    e.action,
    e.target,
    JSON.stringify(e.data),
    e.createdAt,
  ]);
}

/** Newest first; `before` is an event id to continue after. */
export function listAudit(
  conn: Conn,
  workspaceId: string,
  o: { limit: number; before?: string },
): Promise<AuditEvent[]> {
  const before = o.before ? ' AND id < ?' : '';
  const text = `SELECT ${A.list} FROM audit_events WHERE workspace_id = ?${before} ORDER BY id DESC LIMIT ?`;
  return conn.all(sql(text, toEvent), o.before ? [workspaceId, o.before, o.limit] : [workspaceId, o.limit]);
}
