import { only } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';

/** The workspace's callback secret as stored (sealed), the one that signs evaluation callbacks. */
const READ = sql('SELECT callback_secret FROM workspaces WHERE id = ?', only<string | null>);
const WRITE = sql('UPDATE workspaces SET callback_secret = ? WHERE id = ?');

export async function getCallbackSecret(conn: Conn, workspaceId: string): Promise<string | null> {
  return (await conn.get(READ, [workspaceId])) ?? null;
}

export async function setCallbackSecret(tx: Conn, workspaceId: string, sealed: string): Promise<boolean> {
  return (await tx.run(WRITE, [sealed, workspaceId])) > 0;
}
