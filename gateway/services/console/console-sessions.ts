import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Conn } from '../../db/types.ts';
import type { MemberPrincipal } from '../../domain/index.ts';
import { formatTime } from '../../notify/format.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  deleteMemberSessions,
  deleteSession,
  findSession,
  findSignInLink,
  insertSession,
  insertSignInLink,
  membershipsByEmail,
  type SignInMethod,
  touchSession,
  useSignInLink,
} from '../../repositories/console-sessions.ts';
import { countRequest } from '../../repositories/rate.ts';
import { isSsoRequired } from '../../repositories/sso.ts';
import { getMember } from '../../repositories/tenancy.ts';
import { getWorkspace } from '../../repositories/workspaces.ts';
import { hashSecret, newSecret, SECRET_PREFIXES } from '../../secrets.ts';
import type { Deps, ServiceContext } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';
import { authenticateMember } from '../tenancy/index.ts';

/**
 * Console sessions (issue 14). A member signs in with their member token or an emailed link; the
 * browser then holds a random session token in a cookie and the server only its SHA-256. A session
 * ends after CONSOLE_IDLE_MINUTES unused, CONSOLE_SESSION_HOURS after sign-in whatever its use, on
 * sign-out, or when the member or its workspace goes (checked on every request), or, unless it was
 * opened by single sign-on, once the workspace requires it (issue 22).
 */

/** A sign-in link lives 15 minutes and works once. */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;
/** last_seen_at is written at most once a minute per session: reads stay reads. */
export const TOUCH_EVERY_MS = 60_000;
/** Sign-in emails per address and 10-minute window: bounds the mail one stranger can cause. */
export const SIGN_IN_EMAIL_LIMIT = 5;
/** Within the sweeper's keep time of rate counters (jobs/sweeper.ts), so a window is never cut short. */
const SIGN_IN_EMAIL_WINDOW_MS = 10 * 60_000;

export interface ConsoleSession {
  tokenHash: string;
  member: MemberPrincipal;
  workspaceName: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute expiry. */
  expiresAt: number;
  /** How the member signed in (issue 22): a workspace requiring single sign-on keeps only `sso`. */
  via: SignInMethod;
}

/** The service context of a console request: the member acting in their workspace. */
export function consoleContext(deps: Deps, session: ConsoleSession, requestId?: string): ServiceContext {
  return {
    deps,
    workspaceId: session.member.workspaceId,
    actor: { type: 'member', id: session.member.memberId },
    requestId,
  };
}

/** Who signs in or out, as the audit trail names them (the member, in their workspace). */
const asMember = (deps: Deps, workspaceId: string, memberId: string): ServiceContext => ({
  deps,
  workspaceId,
  actor: { type: 'member', id: memberId },
});

/**
 * Inside a transaction of the workspace: a new console session for the member, and its audit event
 * (SOC 2 CC6: who had access, when, how). `data` adds to the event (single sign-on: the IdP subject).
 */
export async function openSessionStep(
  tx: Conn,
  deps: Deps,
  input: { workspaceId: string; memberId: string; via: SignInMethod; data?: Record<string, unknown> },
): Promise<{ token: string }> {
  const { workspaceId, memberId, via } = input;
  const token = newSecret('consoleSession');
  const now = deps.clock();
  await insertSession(tx, {
    tokenHash: hashSecret(token),
    workspaceId,
    memberId,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + deps.config.consoleSessionMs,
    via,
  });
  await appendAudit(
    tx,
    auditEvent(
      asMember(deps, workspaceId, memberId),
      'console.signed_in',
      memberId,
      { via, ...input.data },
      now,
    ),
  );
  return { token };
}

function openSession(
  deps: Deps,
  workspaceId: string,
  memberId: string,
  via: 'token' | 'link',
): Promise<{ token: string }> {
  return deps.db.transaction({ workspaceId }, (tx) =>
    openSessionStep(tx, deps, { workspaceId, memberId, via }),
  );
}

/** A sign-in by token or link the workspace refuses: its console takes single sign-on only (issue 22). */
export class SsoRequiredError extends Error {
  override readonly name = 'SsoRequiredError';
  constructor() {
    super('The workspace signs in to the console with single sign-on only.');
  }
}

/** The state of a sign-in link whose workspace now requires single sign-on. */
export const SSO_REQUIRED = 'sso-required';

/**
 * Signs in with a member token: a new session, or undefined when the token is not a member's;
 * SsoRequiredError when the workspace's console takes single sign-on only.
 */
export async function signInWithToken({
  deps,
  memberToken,
}: {
  deps: Deps;
  memberToken: string;
}): Promise<{ token: string } | undefined> {
  if (!memberToken.startsWith(SECRET_PREFIXES.memberToken)) return undefined;
  let member: MemberPrincipal;
  try {
    member = await authenticateMember(deps, memberToken);
  } catch {
    // Unknown token or archived workspace: the page says the same for both.
    return undefined;
  }
  // Issue 22: the token still works for the API, not for the console.
  if (await isSsoRequired(deps.db.reader, member.workspaceId)) throw new SsoRequiredError();
  return openSession(deps, member.workspaceId, member.memberId, 'token');
}

/**
 * Emails one sign-in link per workspace the address is a member of (one message listing them, each
 * naming its workspace). Nothing tells the caller whether the address is known: the route answers
 * the same either way and does not wait for this.
 */
export async function requestSignInLinks({ deps, email }: { deps: Deps; email: string }): Promise<number> {
  const address = email.trim().toLowerCase();
  if (!address.includes('@') || address.length > 320) return 0;
  const reader = deps.db.reader;
  const all = await membershipsByEmail(reader, address);
  // A workspace whose console takes single sign-on only gets no link (issue 22).
  const required = await Promise.all(all.map((m) => isSsoRequired(reader, m.workspaceId)));
  const memberships = all.filter((_, i) => !required[i]);
  if (memberships.length === 0) return 0;
  const now = deps.clock();
  const window = Math.floor(now / SIGN_IN_EMAIL_WINDOW_MS) * SIGN_IN_EMAIL_WINDOW_MS;
  const key = `console-sign-in:${hashSecret(address)}`;
  const count = await deps.db.transaction({ key }, (tx) => countRequest(tx, key, window));
  if (count > SIGN_IN_EMAIL_LIMIT) {
    deps.logger.warn({ count }, 'console sign-in emails refused: too many for one address');
    return 0;
  }
  const expiresAt = now + SIGN_IN_LINK_TTL_MS;
  const links: { workspaceName: string; url: string }[] = [];
  await deps.db.transaction({}, async (tx) => {
    for (const m of memberships) {
      const token = newSecret('consoleLink');
      await insertSignInLink(tx, {
        tokenHash: hashSecret(token),
        workspaceId: m.workspaceId,
        memberId: m.memberId,
        createdAt: now,
        expiresAt,
      });
      links.push({
        workspaceName: m.workspaceName,
        url: `${deps.config.publicBaseUrl}/console/sign-in/link/${token}`,
      });
    }
  });
  // Sent straight away, not through the outbox, so the link is never stored in clear (as invites).
  const single = links.length === 1 ? links[0] : undefined;
  await deps.mailer.send({
    to: address,
    subject: single ? `Sign in to ${single.workspaceName} on Warden` : 'Sign in to Warden',
    text: [
      links.length === 1
        ? 'Open this link to sign in to the Warden console:'
        : `You are a member of ${links.length} workspaces. Open the link of the one to sign in to:`,
      '',
      ...links.flatMap((l) => [`${l.workspaceName}:`, l.url, '']),
      `Each link works once, until ${formatTime(expiresAt)}.`,
      'If you did not ask to sign in, ignore this email: nobody can sign in without the link.',
    ].join('\n'),
  });
  return links.length;
}

export type SignInLinkState =
  | { state: 'active'; workspaceName: string; email: string; expiresAt: number }
  | { state: 'unknown' | 'used' | 'expired' | typeof SSO_REQUIRED };

/** What a sign-in link would do, without using it (GET shows a button; a mail scanner's GET uses nothing). */
export async function peekSignInLink({
  deps,
  token,
}: {
  deps: Deps;
  token: string;
}): Promise<SignInLinkState> {
  if (!token.startsWith(SECRET_PREFIXES.consoleLink)) return { state: 'unknown' };
  const reader = deps.db.reader;
  const link = await findSignInLink(reader, hashSecret(token));
  if (!link) return { state: 'unknown' };
  if (link.usedAt !== null) return { state: 'used' };
  if (deps.clock() >= link.expiresAt) return { state: 'expired' };
  const [member, workspace] = await Promise.all([
    getMember(reader, link.workspaceId, link.memberId),
    getWorkspace(reader, link.workspaceId),
  ]);
  if (!member || !workspace || workspace.archivedAt) return { state: 'unknown' };
  if (await isSsoRequired(reader, link.workspaceId)) return { state: SSO_REQUIRED };
  return { state: 'active', workspaceName: workspace.name, email: member.email, expiresAt: link.expiresAt };
}

/** Uses a sign-in link (once) and opens a session; undefined when it is unknown, used or expired. */
export async function signInWithLink({
  deps,
  token,
}: {
  deps: Deps;
  token: string;
}): Promise<{ token: string } | undefined> {
  if (!token.startsWith(SECRET_PREFIXES.consoleLink)) return undefined;
  const link = await findSignInLink(deps.db.reader, hashSecret(token));
  // Checked before the link is used: it stays usable should the workspace stop requiring SSO.
  if (link && (await isSsoRequired(deps.db.reader, link.workspaceId))) throw new SsoRequiredError();
  const used = await deps.db.transaction({}, (tx) => useSignInLink(tx, hashSecret(token), deps.clock()));
  if (!used) return undefined;
  const [member, workspace] = await Promise.all([
    getMember(deps.db.reader, used.workspaceId, used.memberId),
    getWorkspace(deps.db.reader, used.workspaceId),
  ]);
  if (!member || !workspace || workspace.archivedAt) return undefined;
  return openSession(deps, used.workspaceId, used.memberId, 'link');
}

/**
 * The session a cookie names, alive: not idle past CONSOLE_IDLE_MINUTES, not past its absolute
 * expiry, its member still in the workspace (with the role it has now), the workspace not archived.
 * A dead session's row is deleted. last_seen_at moves at most once a minute.
 */
export async function resumeSession({
  deps,
  token,
}: {
  deps: Deps;
  token: string;
}): Promise<ConsoleSession | undefined> {
  if (!token.startsWith(SECRET_PREFIXES.consoleSession)) return undefined;
  const tokenHash = hashSecret(token);
  const reader = deps.db.reader;
  const row = await findSession(reader, tokenHash);
  if (!row) return undefined;
  const now = deps.clock();
  const [member, workspace, ssoOnly] = await Promise.all([
    getMember(reader, row.workspaceId, row.memberId),
    getWorkspace(reader, row.workspaceId),
    row.via === 'sso' ? false : isSsoRequired(reader, row.workspaceId),
  ]);
  if (
    ssoOnly ||
    now >= row.expiresAt ||
    now - row.lastSeenAt >= deps.config.consoleIdleMs ||
    !member ||
    !workspace ||
    workspace.archivedAt
  ) {
    await deps.db.transaction({}, (tx) => deleteSession(tx, tokenHash));
    return undefined;
  }
  let lastSeenAt = row.lastSeenAt;
  if (now - row.lastSeenAt >= TOUCH_EVERY_MS) {
    await deps.db.transaction({}, (tx) => touchSession(tx, tokenHash, now, now - TOUCH_EVERY_MS));
    lastSeenAt = now;
  }
  return {
    tokenHash,
    member: { workspaceId: member.workspaceId, memberId: member.id, email: member.email, role: member.role },
    workspaceName: workspace.name,
    createdAt: row.createdAt,
    lastSeenAt,
    expiresAt: row.expiresAt,
    via: row.via,
  };
}

export async function signOut({
  deps,
  token,
  session,
}: {
  deps: Deps;
  token: string;
  session: ConsoleSession;
}): Promise<void> {
  const { workspaceId, memberId } = session.member;
  await deps.db.transaction({ workspaceId }, async (tx) => {
    await deleteSession(tx, hashSecret(token));
    await appendAudit(tx, auditEvent(asMember(deps, workspaceId, memberId), 'console.signed_out', memberId));
  });
}

/** Ends every console session of the member, on every device. */
export async function signOutEverywhere({
  deps,
  session,
}: {
  deps: Deps;
  session: ConsoleSession;
}): Promise<number> {
  const { workspaceId, memberId } = session.member;
  return deps.db.transaction({ workspaceId }, async (tx) => {
    const ended = await deleteMemberSessions(tx, workspaceId, memberId);
    const ctx = asMember(deps, workspaceId, memberId);
    await appendAudit(tx, auditEvent(ctx, 'console.signed_out_everywhere', memberId, { sessions: ended }));
    return ended;
  });
}

/** The CSRF field of every console form: an HMAC of the session token (changes with the session). */
export function consoleCsrf(key: Buffer, sessionToken: string): string {
  return createHmac('sha256', key).update(`console-csrf:${sessionToken}`).digest('base64url');
}

export function checkConsoleCsrf(key: Buffer, sessionToken: string, presented: string): boolean {
  const expected = Buffer.from(consoleCsrf(key, sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
