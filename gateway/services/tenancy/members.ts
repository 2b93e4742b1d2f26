import type { Conn } from '../../db/types.ts';
import { GatewayError, type Role } from '../../domain/index.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { deleteMemberSessions } from '../../repositories/console-sessions.ts';
import {
  countMembersWithRole,
  listMembers as membersOf,
  removeMember as remove,
  setMemberRole,
  setMemberToken,
} from '../../repositories/members.ts';
import { getMember } from '../../repositories/tenancy.ts';
import { hashSecret, newSecret } from '../../secrets.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

/**
 * A workspace's members after they joined (issue 11). Changes run in the workspace's transaction
 * (one writer on SQLite, the workspace's advisory lock on PostgreSQL), where the acting member's
 * role and the number of admins are read again: two admins demoting or removing each other at the
 * same moment run one after the other, and the second finds itself no longer an admin, or the
 * other the last one. A workspace never ends up without an admin.
 */

export interface MemberView {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
}

const view = (m: { id: string; email: string; role: Role; createdAt: number }): MemberView => ({
  id: m.id,
  email: m.email,
  role: m.role,
  createdAt: new Date(m.createdAt).toISOString(),
});

const notFound = () => new GatewayError('NOT_FOUND', 'No member with this id in this workspace.');
const lastAdmin = () =>
  new GatewayError(
    'LAST_ADMIN',
    'This is the last admin of the workspace: make another member admin first, then try again.',
  );

/** Every member of the caller's workspace (never their token hashes). */
export async function listMembers({ ctx }: { ctx: ServiceContext }): Promise<MemberView[]> {
  return (await membersOf(ctx.deps.db.reader, workspaceOf(ctx))).map(view);
}

/**
 * Inside the workspace's transaction: the acting member must still be an admin (a member demoted
 * or removed a moment ago acts no more). The operator and the system act as themselves.
 */
async function requireAdmin(tx: Conn, ctx: ServiceContext, workspaceId: string): Promise<void> {
  if (ctx.actor.type !== 'member') return;
  const actor = ctx.actor.id === null ? undefined : await getMember(tx, workspaceId, ctx.actor.id);
  if (actor?.role !== 'admin') throw new GatewayError('FORBIDDEN', 'This action needs the admin role.');
}

export async function changeMemberRole({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; role: Role };
}): Promise<MemberView> {
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  return ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    await requireAdmin(tx, ctx, workspaceId);
    const member = await getMember(tx, workspaceId, input.id);
    if (!member) throw notFound();
    if (member.role === input.role) return view(member);
    if (member.role === 'admin' && (await countMembersWithRole(tx, workspaceId, 'admin')) <= 1) {
      throw lastAdmin();
    }
    await setMemberRole(tx, workspaceId, member.id, input.role);
    await appendAudit(
      tx,
      auditEvent(ctx, 'member.role_changed', member.id, { from: member.role, to: input.role }, at),
    );
    return view({ ...member, role: input.role });
  });
}

/** Removes a member: their token is refused (401) from the next request on. */
export async function removeMember({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    await requireAdmin(tx, ctx, workspaceId);
    const member = await getMember(tx, workspaceId, input.id);
    if (!member) throw notFound();
    if (member.role === 'admin' && (await countMembersWithRole(tx, workspaceId, 'admin')) <= 1) {
      throw lastAdmin();
    }
    await remove(tx, workspaceId, member.id);
    await appendAudit(
      tx,
      auditEvent(ctx, 'member.removed', member.id, { email: member.email, role: member.role }, at),
    );
  });
}

/**
 * A new token for a member, returned once; the old one stops working with the commit. An admin
 * may rotate anyone's token in the workspace, any member their own.
 */
export async function rotateMemberToken({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string };
}): Promise<{ member: MemberView; token: string }> {
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  const token = newSecret('memberToken');
  const member = await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    if (!(ctx.actor.type === 'member' && ctx.actor.id === input.id)) await requireAdmin(tx, ctx, workspaceId);
    const found = await getMember(tx, workspaceId, input.id);
    if (!found) throw notFound();
    await setMemberToken(tx, workspaceId, found.id, hashSecret(token));
    // A rotated token may have leaked: the console sessions signed in with it end too.
    const consoleSessions = await deleteMemberSessions(tx, workspaceId, found.id);
    await appendAudit(tx, auditEvent(ctx, 'member.token_rotated', found.id, { consoleSessions }, at));
    return found;
  });
  return { member: view(member), token };
}
