import { GatewayError, type Role } from '../domain/index.ts';
import { newId } from '../ids.ts';
import { appendAudit } from '../repositories/audit.ts';
import { insertMember, insertWorkspace } from '../repositories/tenancy.ts';
import { hashSecret, newSecret } from '../secrets.ts';
import { auditEvent } from './audit.ts';
import { type ServiceContext, workspaceOf } from './context.ts';

export interface CreatedWorkspace {
  workspace: { id: string; name: string };
  adminToken: string;
  adminMemberId: string;
}

/** A workspace and its first admin member, whose token is returned once. */
export async function createWorkspace({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { name: string; adminEmail: string };
}): Promise<CreatedWorkspace> {
  const at = ctx.deps.clock();
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
  const audit = auditEvent({ ...ctx, workspaceId: workspace.id }, 'workspace.created', workspace.id, {}, at);
  await ctx.deps.db.transaction({ workspaceId: workspace.id }, async (tx) => {
    await insertWorkspace(tx, workspace);
    await insertMember(tx, admin);
    await appendAudit(tx, audit);
  });
  return { workspace: { id: workspace.id, name: workspace.name }, adminToken, adminMemberId: admin.id };
}

export interface CreatedMember {
  member: { id: string; email: string; role: Role };
  token: string;
}

export async function createMember({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { email: string; role: Role };
}): Promise<CreatedMember> {
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  const token = newSecret('memberToken');
  const member = {
    id: newId('member'),
    workspaceId,
    email: input.email.toLowerCase(),
    role: input.role,
    tokenHash: hashSecret(token),
    createdAt: at,
  };
  const audit = auditEvent(ctx, 'member.created', member.id, { role: member.role }, at);
  const created = await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    if (!(await insertMember(tx, member))) return false;
    await appendAudit(tx, audit);
    return true;
  });
  if (!created) throw new GatewayError('CONFLICT', `${member.email} is already a member of this workspace.`);
  return { member: { id: member.id, email: member.email, role: member.role }, token };
}
