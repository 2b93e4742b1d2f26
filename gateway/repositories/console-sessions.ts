import { columns, onlyNumber, select } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { Role } from '../domain/index.ts';

/**
 * Console sessions and emailed sign-in links (issue 14). Only SHA-256 hashes of the tokens are
 * stored; the rules (expiry, single use, who may sign in) are in services/console/console-sessions.ts.
 */

export interface ConsoleSessionRow {
  tokenHash: string;
  workspaceId: string;
  memberId: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  /** How the member signed in (issue 22). */
  via: SignInMethod;
}

export type SignInMethod = 'token' | 'link' | 'sso';

const S = columns('console_sessions', [
  'token_hash',
  'workspace_id',
  'member_id',
  'created_at',
  'last_seen_at',
  'expires_at',
  'via',
]);
const toSession = (raw: unknown[]): ConsoleSessionRow => {
  const {
    token_hash: tokenHash,
    workspace_id: workspaceId,
    member_id: memberId,
    created_at: createdAt,
    last_seen_at: lastSeenAt,
    expires_at: expiresAt,
    via,
  } = S.row(raw);
  return { tokenHash, workspaceId, memberId, createdAt, lastSeenAt, expiresAt, via };
};

const INSERT_SESSION = sql(`INSERT INTO console_sessions (${S.list}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
const SESSION = sql(`SELECT ${S.list} FROM console_sessions WHERE token_hash = ?`, toSession);
/** Conditional: of two requests in the same minute, one writes. */
const TOUCH = sql('UPDATE console_sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?');
const DELETE_SESSION = sql('DELETE FROM console_sessions WHERE token_hash = ?');
const DELETE_MEMBER_SESSIONS = sql('DELETE FROM console_sessions WHERE workspace_id = ? AND member_id = ?');
const COUNT_MEMBER_SESSIONS = sql(
  'SELECT count(*) FROM console_sessions WHERE workspace_id = ? AND member_id = ?',
  onlyNumber,
);

export async function insertSession(tx: Conn, s: ConsoleSessionRow): Promise<void> {
  await tx.run(
    INSERT_SESSION,
    S.values({
      token_hash: s.tokenHash,
      workspace_id: s.workspaceId,
      member_id: s.memberId,
      created_at: s.createdAt,
      last_seen_at: s.lastSeenAt,
      expires_at: s.expiresAt,
      via: s.via,
    }),
  );
}

export function findSession(conn: Conn, tokenHash: string): Promise<ConsoleSessionRow | undefined> {
  return conn.get(SESSION, [tokenHash]);
}

/** Moves last_seen_at to `now` unless it is already after `notBefore`. */
export function touchSession(tx: Conn, tokenHash: string, now: number, notBefore: number): Promise<number> {
  return tx.run(TOUCH, [now, tokenHash, notBefore]);
}

export function deleteSession(tx: Conn, tokenHash: string): Promise<number> {
  return tx.run(DELETE_SESSION, [tokenHash]);
}

export function deleteMemberSessions(tx: Conn, workspaceId: string, memberId: string): Promise<number> {
  return tx.run(DELETE_MEMBER_SESSIONS, [workspaceId, memberId]);
}

export async function countMemberSessions(
  conn: Conn,
  workspaceId: string,
  memberId: string,
): Promise<number> {
  return (await conn.get(COUNT_MEMBER_SESSIONS, [workspaceId, memberId])) ?? 0;
}

const SWEEP_SESSIONS = sql('DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at <= ?');
const SWEEP_LINKS = sql('DELETE FROM console_sign_in_links WHERE expires_at < ?');

/** Background clean-up: sessions past their absolute expiry or idle since `idleBefore`, old links. */
export async function sweepConsole(
  tx: Conn,
  q: { now: number; idleBefore: number; linksBefore: number },
): Promise<void> {
  await tx.run(SWEEP_SESSIONS, [q.now, q.idleBefore]);
  await tx.run(SWEEP_LINKS, [q.linksBefore]);
}

// ── sign-in links ────────────────────────────────────────────────────────────────────────────────

export interface SignInLinkRow {
  tokenHash: string;
  workspaceId: string;
  memberId: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

const L = columns('console_sign_in_links', [
  'token_hash',
  'workspace_id',
  'member_id',
  'created_at',
  'expires_at',
  'used_at',
]);
const toLink = (raw: unknown[]): SignInLinkRow => {
  const {
    token_hash: tokenHash,
    workspace_id: workspaceId,
    member_id: memberId,
    created_at: createdAt,
    expires_at: expiresAt,
    used_at: usedAt,
  } = L.row(raw);
  return { tokenHash, workspaceId, memberId, createdAt, expiresAt, usedAt };
};
const INSERT_LINK = sql(`INSERT INTO console_sign_in_links (${L.list}) VALUES (?, ?, ?, ?, ?, NULL)`);
const LINK = sql(`SELECT ${L.list} FROM console_sign_in_links WHERE token_hash = ?`, toLink);
/** Single use in one conditional update: of two clicks, one gets the row back. */
const USED = columns('console_sign_in_links', ['workspace_id', 'member_id']);
const USE_LINK = sql(
  `UPDATE console_sign_in_links SET used_at = ?
   WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
   RETURNING ${USED.list}`,
  USED.map((r) => ({ workspaceId: r.workspace_id, memberId: r.member_id })),
);

export async function insertSignInLink(tx: Conn, l: Omit<SignInLinkRow, 'usedAt'>): Promise<void> {
  await tx.run(INSERT_LINK, [l.tokenHash, l.workspaceId, l.memberId, l.createdAt, l.expiresAt]);
}

export function findSignInLink(conn: Conn, tokenHash: string): Promise<SignInLinkRow | undefined> {
  return conn.get(LINK, [tokenHash]);
}

export function useSignInLink(
  tx: Conn,
  tokenHash: string,
  now: number,
): Promise<{ workspaceId: string; memberId: string } | undefined> {
  return tx.get(USE_LINK, [now, tokenHash, now]);
}

// ── who an email is ──────────────────────────────────────────────────────────────────────────────

export interface MembershipRow {
  memberId: string;
  workspaceId: string;
  workspaceName: string;
  email: string;
  role: Role;
}

/** Every membership of a (lower-cased) email in a workspace that is not archived. */
const MEMBERSHIP = select({
  member_id: 'm.id',
  workspace_id: 'm.workspace_id',
  workspace_name: 'w.name',
  email: 'm.email',
  role: 'm.role',
});
const MEMBERSHIPS = sql(
  `SELECT ${MEMBERSHIP.list}
   FROM members m JOIN workspaces w ON w.id = m.workspace_id
   WHERE m.email = ? AND w.archived_at IS NULL
   ORDER BY w.name, w.id`,
  MEMBERSHIP.map(
    (r): MembershipRow => ({
      memberId: r.member_id as string,
      workspaceId: r.workspace_id as string,
      workspaceName: r.workspace_name as string,
      email: r.email as string,
      role: r.role as Role,
    }),
  ),
);

export function membershipsByEmail(conn: Conn, email: string): Promise<MembershipRow[]> {
  return conn.all(MEMBERSHIPS, [email]);
}
