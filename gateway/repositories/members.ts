import { columns, only, onlyNumber } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { Role } from '../domain/index.ts';
import { bumpConfigVersion } from './config.ts';

/**
 * A workspace's members after they joined (issue 11): list, role, removal, token rotation. Inserts
 * and lookups by token are in tenancy.ts. Every change bumps the config version in its transaction,
 * as agent key changes do, so no replica acts on an authentication it read before the change.
 */

export interface MemberRow {
  id: string;
  email: string;
  role: Role;
  createdAt: number;
}

const M = columns('members', ['id', 'email', 'role', 'created_at']);
const toRow = (raw: unknown[]): MemberRow => {
  const { id, email, role, created_at: createdAt } = M.row(raw);
  return { id, email, role, createdAt };
};

const LIST = sql(`SELECT ${M.list} FROM members WHERE workspace_id = ? ORDER BY created_at, id`, toRow);
const COUNT_ROLE = sql('SELECT count(*) FROM members WHERE workspace_id = ? AND role = ?', onlyNumber);
const BY_EMAIL = sql('SELECT id FROM members WHERE workspace_id = ? AND email = ?', only<string>);
const SET_ROLE = sql('UPDATE members SET role = ? WHERE id = ? AND workspace_id = ?');
const REMOVE = sql('DELETE FROM members WHERE id = ? AND workspace_id = ?');
const SET_TOKEN = sql('UPDATE members SET token_hash = ? WHERE id = ? AND workspace_id = ?');

/** Never the token hashes. */
export function listMembers(conn: Conn, workspaceId: string): Promise<MemberRow[]> {
  return conn.all(LIST, [workspaceId]);
}

/** The id of the member with this (lower-cased) email, if any. */
export function findMemberByEmail(
  conn: Conn,
  workspaceId: string,
  email: string,
): Promise<string | undefined> {
  return conn.get(BY_EMAIL, [workspaceId, email]);
}

export async function countMembersWithRole(conn: Conn, workspaceId: string, role: Role): Promise<number> {
  return (await conn.get(COUNT_ROLE, [workspaceId, role])) ?? 0;
}

export async function setMemberRole(tx: Conn, workspaceId: string, id: string, role: Role): Promise<boolean> {
  if ((await tx.run(SET_ROLE, [role, id, workspaceId])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}

export async function removeMember(tx: Conn, workspaceId: string, id: string): Promise<boolean> {
  if ((await tx.run(REMOVE, [id, workspaceId])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}

/** Replaces the member's token hash: the old token stops matching with this commit. */
export async function setMemberToken(
  tx: Conn,
  workspaceId: string,
  id: string,
  tokenHash: string,
): Promise<boolean> {
  if ((await tx.run(SET_TOKEN, [tokenHash, id, workspaceId])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}
