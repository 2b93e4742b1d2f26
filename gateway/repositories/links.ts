import { columns, only } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { ApprovalLink, OtpIssue, OtpKey, OtpState } from '../domain/index.ts';

/** Magic links and one-time codes for approvers (DESIGN §5): only hashes are stored. */

const L = columns('approval_links', [
  'token_hash',
  'approval_id',
  'position',
  'member_id',
  'workspace_id',
  'created_at',
  'expires_at',
]);
const toLink = (raw: unknown[]): ApprovalLink => {
  const {
    token_hash: tokenHash,
    approval_id: approvalId,
    position,
    member_id: memberId,
    workspace_id: workspaceId,
    created_at: createdAt,
    expires_at: expiresAt,
  } = L.row(raw);
  return { tokenHash, approvalId, position, memberId, workspaceId, createdAt, expiresAt };
};
const INSERT_LINK = sql(`INSERT INTO approval_links (${L.list}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
const LINK = sql(`SELECT ${L.list} FROM approval_links WHERE token_hash = ?`, toLink);

export async function insertLink(tx: Conn, l: ApprovalLink): Promise<void> {
  await tx.run(
    INSERT_LINK,
    L.values({
      token_hash: l.tokenHash,
      approval_id: l.approvalId,
      position: l.position,
      member_id: l.memberId,
      workspace_id: l.workspaceId,
      created_at: l.createdAt,
      expires_at: l.expiresAt,
    }),
  );
}

export function findLink(conn: Conn, tokenHash: string): Promise<ApprovalLink | undefined> {
  return conn.get(LINK, [tokenHash]);
}

const KEY = 'approval_id = ? AND position = ? AND member_id = ?';
const keyOf = (k: OtpKey) => [k.approvalId, k.position, k.memberId];
/** A fresh row, or the old one's code replaced unless its tries are used up (they are per step). */
const ISSUE = sql(
  `INSERT INTO approval_otps (approval_id, position, member_id, workspace_id, code_hash, attempts, created_at, expires_at, used_at)
   VALUES (?, ?, ?, ?, ?, 0, ?, ?, NULL)
   ON CONFLICT (approval_id, position, member_id) DO UPDATE SET
     code_hash = excluded.code_hash, created_at = excluded.created_at, expires_at = excluded.expires_at, used_at = NULL
   WHERE approval_otps.attempts < ?
   RETURNING attempts`,
);
/** One try, counted in one conditional update, while the code is unused, unexpired and not locked. */
const ATTEMPT = sql(
  `UPDATE approval_otps SET attempts = attempts + 1
   WHERE ${KEY} AND attempts < ? AND used_at IS NULL AND expires_at > ?
   RETURNING code_hash`,
  (raw) => ({ codeHash: only<string>(raw) }),
);
const CONSUME = sql(
  `UPDATE approval_otps SET used_at = ? WHERE ${KEY} AND code_hash = ? AND used_at IS NULL`,
);
const OTP_STATE = columns('approval_otps', ['attempts', 'expires_at', 'used_at']);
const STATE = sql(
  `SELECT ${OTP_STATE.list} FROM approval_otps WHERE ${KEY}`,
  OTP_STATE.map((r): OtpState => ({ attempts: r.attempts, expiresAt: r.expires_at, usedAt: r.used_at })),
);

/** False (nothing stored) when the step is locked: `maxAttempts` tries were already used. */
export async function issueOtp(tx: Conn, o: OtpIssue, maxAttempts: number): Promise<boolean> {
  const rows = await tx.all(ISSUE, [
    o.approvalId,
    o.position,
    o.memberId,
    o.workspaceId,
    o.codeHash,
    o.createdAt,
    o.expiresAt,
    maxAttempts,
  ]);
  return rows.length > 0;
}

export function attemptOtp(tx: Conn, key: OtpKey, now: number, maxAttempts: number) {
  return tx.get(ATTEMPT, [...keyOf(key), maxAttempts, now]);
}

/** Marks the code used if it is still the one with `codeHash` and unused: true for one caller only. */
export async function consumeOtp(tx: Conn, key: OtpKey, codeHash: string, now: number): Promise<boolean> {
  return (await tx.run(CONSUME, [now, ...keyOf(key), codeHash])) > 0;
}

export function getOtpState(conn: Conn, key: OtpKey): Promise<OtpState | undefined> {
  return conn.get(STATE, keyOf(key));
}
