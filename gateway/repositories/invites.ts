import { columns } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { Invite } from '../domain/index.ts';

/** Invitations to join a workspace (issue 11); only the link token's SHA-256 is stored. */

const I = columns('invites', [
  'id',
  'workspace_id',
  'email',
  'role',
  'token_hash',
  'created_by',
  'created_at',
  'expires_at',
  'accepted_at',
  'member_id',
]);
const toInvite = (raw: unknown[]): Invite => {
  const {
    id,
    workspace_id: workspaceId,
    email,
    role,
    token_hash: tokenHash,
    created_by: createdBy,
    created_at: createdAt,
    expires_at: expiresAt,
    accepted_at: acceptedAt,
    member_id: memberId,
  } = I.row(raw);
  return { id, workspaceId, email, role, tokenHash, createdBy, createdAt, expiresAt, acceptedAt, memberId };
};

const INSERT = sql(`INSERT INTO invites (${I.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
const BY_HASH = sql(`SELECT ${I.list} FROM invites WHERE token_hash = ?`, toInvite);
const BY_ID = sql(`SELECT ${I.list} FROM invites WHERE id = ?`, toInvite);
// One conditional update: of any number of concurrent accepts, exactly one changes the row.
const ACCEPT = sql(
  'UPDATE invites SET accepted_at = ?, member_id = ? WHERE id = ? AND accepted_at IS NULL AND expires_at > ?',
);
// Open ones: not accepted, not expired (a withdrawn one has expired at its withdrawal).
const OPEN = sql(
  `SELECT ${I.list} FROM invites WHERE workspace_id = ? AND accepted_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT ?`,
  toInvite,
);
const WITHDRAW_OPEN = sql(
  'UPDATE invites SET expires_at = ? WHERE id = ? AND workspace_id = ? AND accepted_at IS NULL AND expires_at > ?',
);
const WITHDRAW = sql('UPDATE invites SET expires_at = ? WHERE id = ? AND accepted_at IS NULL');

export async function insertInvite(tx: Conn, i: Invite): Promise<void> {
  await tx.run(
    INSERT,
    I.values({
      id: i.id,
      workspace_id: i.workspaceId,
      email: i.email,
      role: i.role,
      token_hash: i.tokenHash,
      created_by: i.createdBy,
      created_at: i.createdAt,
      expires_at: i.expiresAt,
      accepted_at: i.acceptedAt,
      member_id: i.memberId,
    }),
  );
}

export function findInviteByTokenHash(conn: Conn, tokenHash: string): Promise<Invite | undefined> {
  return conn.get(BY_HASH, [tokenHash]);
}

export function getInvite(conn: Conn, id: string): Promise<Invite | undefined> {
  return conn.get(BY_ID, [id]);
}

/** True when this call accepted it: not accepted before and not expired at `at`. */
export async function acceptInvite(tx: Conn, id: string, memberId: string, at: number): Promise<boolean> {
  return (await tx.run(ACCEPT, [at, memberId, id, at])) > 0;
}

/** Ends an unaccepted invitation now (its email could not be sent). */
export async function withdrawInvite(tx: Conn, id: string, at: number): Promise<void> {
  await tx.run(WITHDRAW, [at, id]);
}

/** A workspace's open invitations at `at`, newest first. */
export function listOpenInvites(
  conn: Conn,
  workspaceId: string,
  at: number,
  limit: number,
): Promise<Invite[]> {
  return conn.all(OPEN, [workspaceId, at, limit]);
}

/** Ends an open invitation of the workspace at `at`; false when there is none with this id. */
export async function revokeOpenInvite(
  tx: Conn,
  workspaceId: string,
  id: string,
  at: number,
): Promise<boolean> {
  return (await tx.run(WITHDRAW_OPEN, [at, id, workspaceId, at])) > 0;
}
