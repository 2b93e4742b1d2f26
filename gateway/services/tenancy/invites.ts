import { timingSafeEqual } from 'node:crypto';
import { GatewayError, type Invite, type Role } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { formatTime } from '../../notify/format.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  acceptInvite as accept,
  findInviteByTokenHash,
  getInvite,
  insertInvite,
  listOpenInvites,
  revokeOpenInvite,
  withdrawInvite,
} from '../../repositories/invites.ts';
import { findMemberByEmail } from '../../repositories/members.ts';
import { insertMember } from '../../repositories/tenancy.ts';
import { getWorkspace } from '../../repositories/workspaces.ts';
import { hashSecret, newSecret, SECRET_PREFIXES } from '../../secrets.ts';
import type { Deps, ServiceContext } from '../context.ts';
import { workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

/**
 * Invitations (issue 11): an admin names an email and a role; the person gets a one-time link by
 * email, valid 24 hours, and takes their member token through it, once. The link token is emailed
 * straight away, not through the outbox, so it is never stored in clear (as one-time codes:
 * services/approvals/otp.ts); only its SHA-256 is kept, and accepting it is one conditional update.
 */

export const INVITE_TTL_MS = 24 * 60 * 60_000;
const TOKEN_SHAPE = new RegExp(`^${SECRET_PREFIXES.inviteToken}[A-Za-z0-9_-]{43}$`);

export interface InviteView {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const view = (i: Invite): InviteView => ({
  id: i.id,
  email: i.email,
  role: i.role,
  createdAt: iso(i.createdAt),
  expiresAt: iso(i.expiresAt),
  acceptedAt: i.acceptedAt === null ? null : iso(i.acceptedAt),
});

const inviteUrl = (deps: Deps, token: string) => `${deps.config.publicBaseUrl}/invite/${token}`;

/** Creates an invitation and emails its link; the link is never returned to the caller. */
export async function createInvite({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { email: string; role: Role };
}): Promise<{ invite: InviteView }> {
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  const token = newSecret('inviteToken');
  const invite: Invite = {
    id: newId('invite'),
    workspaceId,
    email: input.email.toLowerCase(),
    role: input.role,
    tokenHash: hashSecret(token),
    createdBy: ctx.actor.id,
    createdAt: at,
    expiresAt: at + INVITE_TTL_MS,
    acceptedAt: null,
    memberId: null,
  };
  const workspace = await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    if (await findMemberByEmail(tx, workspaceId, invite.email)) {
      throw new GatewayError('CONFLICT', `${invite.email} is already a member of this workspace.`);
    }
    await insertInvite(tx, invite);
    const data = { email: invite.email, role: invite.role, expiresAt: iso(invite.expiresAt) };
    await appendAudit(tx, auditEvent(ctx, 'invite.created', invite.id, data, at));
    return getWorkspace(tx, workspaceId);
  });
  const url = inviteUrl(ctx.deps, token);
  try {
    await ctx.deps.mailer.send({
      to: invite.email,
      subject: `You are invited to ${workspace?.name ?? 'a Warden workspace'}`,
      text: [
        `You are invited to join the Warden workspace ${workspace?.name ?? workspaceId} as ${invite.role}.`,
        '',
        'Open this link to see the invitation; send a POST to it with /accept at the end to take your',
        `member token (shown once). The link works once, until ${formatTime(invite.expiresAt)}:`,
        url,
        '',
        `curl -X POST ${url}/accept`,
        '',
        'This link is personal: do not forward it. If you did not expect it, ignore this email.',
      ].join('\n'),
    });
  } catch (error) {
    // Nobody holds the link now: end the invitation rather than leave a live one nobody can use.
    await ctx.deps.db.transaction({ workspaceId }, (tx) => withdrawInvite(tx, invite.id, ctx.deps.clock()));
    ctx.deps.logger.warn({ err: error, inviteId: invite.id }, 'invitation email could not be sent');
    throw new GatewayError(
      'SERVICE_UNAVAILABLE',
      'The invitation email could not be sent, so the invitation was withdrawn. Try again later.',
    );
  }
  return { invite: view(invite) };
}

/** The workspace's open invitations (not accepted, not expired), newest first. */
export async function listInvites({ ctx }: { ctx: ServiceContext }): Promise<InviteView[]> {
  return (await listOpenInvites(ctx.deps.db.reader, workspaceOf(ctx), ctx.deps.clock(), 200)).map(view);
}

/** Withdraws an open invitation: its link answers "expired" from now on. */
export async function revokeInvite({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string };
}): Promise<void> {
  const { id } = input;
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  const revoked = await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    if (!(await revokeOpenInvite(tx, workspaceId, id, at))) return false;
    await appendAudit(tx, auditEvent(ctx, 'invite.revoked', id, {}, at));
    return true;
  });
  if (!revoked) throw new GatewayError('NOT_FOUND', 'No open invitation with this id in this workspace.');
}

/**
 * The invitation a link token names, alive or not. The lookup is by hash (an index hit); the hash
 * found is compared again in constant time, so no timing tells a near miss from a hit.
 */
async function findByToken(deps: Deps, token: string): Promise<Invite> {
  const unknown = () => new GatewayError('NOT_FOUND', 'This invitation link is not valid.');
  if (!TOKEN_SHAPE.test(token)) throw unknown();
  const hash = hashSecret(token);
  const invite = await findInviteByTokenHash(deps.db.reader, hash);
  if (!invite || !timingSafeEqual(Buffer.from(invite.tokenHash, 'hex'), Buffer.from(hash, 'hex'))) {
    throw unknown();
  }
  return invite;
}

const used = () =>
  new GatewayError('INVITE_USED', 'This invitation was already accepted; each link works once.');
const expired = (invite: Invite) =>
  new GatewayError(
    'INVITE_EXPIRED',
    `This invitation expired at ${iso(invite.expiresAt)}. Ask a workspace admin for a new one.`,
  );
const archived = () =>
  new GatewayError('WORKSPACE_ARCHIVED', 'This workspace is archived: invitations cannot be accepted.');

/** What a link offers, for the person who opened it. */
export async function showInvite({ deps, token }: { deps: Deps; token: string }) {
  const invite = await findByToken(deps, token);
  if (invite.acceptedAt !== null) throw used();
  if (deps.clock() >= invite.expiresAt) throw expired(invite);
  const workspace = await getWorkspace(deps.db.reader, invite.workspaceId);
  if (!workspace) throw new GatewayError('NOT_FOUND', 'This invitation link is not valid.');
  if (workspace.archivedAt != null) throw archived();
  return {
    invite: {
      workspace: { name: workspace.name },
      email: invite.email,
      role: invite.role,
      expiresAt: iso(invite.expiresAt),
    },
    accept: { method: 'POST', url: `${inviteUrl(deps, token)}/accept` },
  };
}

/**
 * Takes the invitation: makes the member and answers their token, once. Of any number of
 * concurrent accepts exactly one wins the conditional update; the others see it used.
 */
export async function acceptInvite({ deps, token }: { deps: Deps; token: string }) {
  const found = await findByToken(deps, token);
  const workspaceId = found.workspaceId;
  const at = deps.clock();
  const memberToken = newSecret('memberToken');
  const member = {
    id: newId('member'),
    workspaceId,
    email: found.email,
    role: found.role,
    tokenHash: hashSecret(memberToken),
    createdAt: at,
  };
  const ctx: ServiceContext = { deps, workspaceId, actor: { type: 'member', id: member.id } };
  await deps.db.transaction({ workspaceId }, async (tx) => {
    const workspace = await getWorkspace(tx, workspaceId);
    if (!workspace) throw new GatewayError('NOT_FOUND', 'This invitation link is not valid.');
    if (workspace.archivedAt != null) throw archived();
    if (!(await accept(tx, found.id, member.id, at))) {
      const now = await getInvite(tx, found.id);
      throw now?.acceptedAt != null || !now ? used() : expired(now);
    }
    // A conflict rolls the acceptance back with it: the link stays usable once the clash is gone.
    if (!(await insertMember(tx, member))) {
      throw new GatewayError('CONFLICT', `${member.email} is already a member of this workspace.`);
    }
    await appendAudit(tx, auditEvent(ctx, 'invite.accepted', found.id, { memberId: member.id }, at));
    await appendAudit(
      tx,
      auditEvent(ctx, 'member.created', member.id, { role: member.role, via: 'invite' }, at),
    );
  });
  return {
    member: { id: member.id, email: member.email, role: member.role },
    token: memberToken,
  };
}
