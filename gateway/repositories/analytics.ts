import { only, select } from '../db/schema/columns.ts';
import { type Conn, placeholders, sql } from '../db/types.ts';

/**
 * What workspace analytics (issue 14, item 6) read besides the hourly rollups
 * (repositories/rollups.ts, issue 18): the approvals decided by people, a page at a time, and the
 * newest ledger id (the console's cache key).
 */

/** One approval of the range: when it was made, how long people took, and whether they decided. */
export interface ApprovalTime {
  createdAt: number;
  id: string;
  /** approved | rejected: decided by people; anything else (pending, expired) was not. */
  status: string;
  /** Ms from its creation to its last change (the decision, once decided). */
  ms: number;
}

const TIME = select({ created_at: 'created_at', id: 'id', status: 'status', ms: 'updated_at - created_at' });
const decisionPage = (after: boolean) =>
  sql(
    `SELECT ${TIME.list} FROM approvals
     WHERE workspace_id = ? AND created_at >= ? AND created_at < ?${
       after ? ` AND (workspace_id, created_at, id) > (${placeholders(3)})` : ''
     }
     ORDER BY workspace_id, created_at, id LIMIT ?`,
    TIME.map(
      (r): ApprovalTime => ({
        createdAt: Number(r.created_at),
        id: r.id as string,
        status: r.status as string,
        ms: Number(r.ms ?? 0),
      }),
    ),
  );
const FIRST = decisionPage(false);
const NEXT = decisionPage(true);

/**
 * At most `limit` approvals of the workspace created in [from, to), oldest first, after `after`
 * (the last of the previous page): one walk of `approvals_ws_created` that stops after `limit`
 * entries, whatever their status.
 */
export function approvalTimesPage(
  conn: Conn,
  r: { workspaceId: string; from: number; to: number },
  after: ApprovalTime | null,
  limit: number,
): Promise<ApprovalTime[]> {
  return after
    ? conn.all(NEXT, [r.workspaceId, r.from, r.to, r.workspaceId, after.createdAt, after.id, limit])
    : conn.all(FIRST, [r.workspaceId, r.from, r.to, limit]);
}

const NEWEST = sql(
  `SELECT max(id) FROM transactions WHERE workspace_id = ?`,
  (raw) => only<string | null>(raw) ?? null,
);

/** The workspace's newest ledger id (one step down `transactions_ws_id`): a new one means new traffic. */
export async function newestTransactionId(conn: Conn, workspaceId: string): Promise<string | null> {
  const [newest] = await conn.all(NEWEST, [workspaceId]);
  return newest ?? null;
}
