import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { hashSecret, newSecret } from '../secrets.ts';
import type { Role } from '../store/types.ts';
import { auditEvent } from './audit.ts';
import type { Actor, Services } from './context.ts';

export interface CreatedWorkspace {
  workspace: { id: string; name: string };
  adminToken: string;
  adminMemberId: string;
}

/** A workspace and its first admin member, whose token is returned once. */
export async function createWorkspace({
  ctx,
  input,
  actor = { type: 'operator', id: null },
}: {
  ctx: Services;
  input: { name: string; adminEmail: string };
  actor?: Actor;
}): Promise<CreatedWorkspace> {
  const at = ctx.clock();
  const workspace = { id: newId('workspace'), name: input.name, createdAt: at };
  const adminToken = newSecret('memberToken');
  const admin = {
    id: newId('member'),
    workspaceId: workspace.id,
    email: input.adminEmail.toLowerCase(),
    role: 'admin' as const,
    tokenHash: hashSecret(adminToken),
    createdAt: at,
  };
  await ctx.store.createWorkspace(
    workspace,
    admin,
    auditEvent({ workspaceId: workspace.id, actor, action: 'workspace.created', target: workspace.id, at }),
  );
  return { workspace: { id: workspace.id, name: workspace.name }, adminToken, adminMemberId: admin.id };
}

export interface CreatedMember {
  member: { id: string; email: string; role: Role };
  token: string;
}

export async function createMember({
  ctx,
  workspaceId,
  actor,
  input,
}: {
  ctx: Services;
  workspaceId: string;
  actor: Actor;
  input: { email: string; role: Role };
}): Promise<CreatedMember> {
  const at = ctx.clock();
  const token = newSecret('memberToken');
  const member = {
    id: newId('member'),
    workspaceId,
    email: input.email.toLowerCase(),
    role: input.role,
    tokenHash: hashSecret(token),
    createdAt: at,
  };
  const created = await ctx.store.createMember(
    member,
    auditEvent({
      workspaceId,
      actor,
      action: 'member.created',
      target: member.id,
      data: { role: member.role },
      at,
    }),
  );
  if (!created) throw new GatewayError('CONFLICT', `${member.email} is already a member of this workspace.`);
  return { member: { id: member.id, email: member.email, role: member.role }, token };
}
