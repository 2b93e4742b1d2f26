import { GatewayError, type Role, type Workspace } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { insertMember, insertWorkspace } from '../../repositories/tenancy.ts';
import {
  listWorkspaces as allWorkspaces,
  archiveWorkspace as archive,
  deleteWorkspaceRows,
  getWorkspace,
  restoreWorkspace as restore,
} from '../../repositories/workspaces.ts';
import { hashSecret, newSecret } from '../../secrets.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

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

// ── the operator's lifecycle of a workspace (issue 11) ──────────────────────────────────────────

export interface WorkspaceView {
  id: string;
  name: string;
  createdAt: string;
  archived: boolean;
  archivedAt: string | null;
}

const viewWorkspace = (w: Workspace): WorkspaceView => ({
  id: w.id,
  name: w.name,
  createdAt: new Date(w.createdAt).toISOString(),
  archived: w.archivedAt != null,
  archivedAt: w.archivedAt == null ? null : new Date(w.archivedAt).toISOString(),
});

const noWorkspace = () => new GatewayError('NOT_FOUND', 'No workspace with this id.');

/** Every workspace, archived ones flagged (operator). */
export async function listWorkspaces({ ctx }: { ctx: ServiceContext }): Promise<WorkspaceView[]> {
  return (await allWorkspaces(ctx.deps.db.reader)).map(viewWorkspace);
}

/**
 * Archives a workspace: from the next request on, on every replica (the config version moves), its
 * agent keys and member tokens are refused with 403 WORKSPACE_ARCHIVED; nothing is deleted.
 * Archiving an archived workspace changes nothing and records nothing.
 */
export function archiveWorkspace({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  return setArchived(ctx, input.id, true);
}

/** Restores an archived workspace: its keys and tokens work again. A live one is left as it is. */
export function restoreWorkspace({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  return setArchived(ctx, input.id, false);
}

async function setArchived(ctx: ServiceContext, id: string, archived: boolean) {
  const at = ctx.deps.clock();
  const workspace = await ctx.deps.db.transaction({ workspaceId: id }, async (tx) => {
    const found = await getWorkspace(tx, id);
    if (!found) throw noWorkspace();
    const changed = archived ? await archive(tx, id, at) : await restore(tx, id);
    if (!changed) return found;
    // In the workspace's own chain, so its admins see it in /v1/audit after a restore.
    const action = archived ? 'workspace.archived' : 'workspace.restored';
    await appendAudit(tx, auditEvent({ ...ctx, workspaceId: id }, action, id, {}, at));
    return { ...found, archivedAt: archived ? at : null };
  });
  return viewWorkspace(workspace);
}

/**
 * Deletes an archived workspace and every row it owns, its own audit chain included; the deletion
 * itself is recorded in the operator's chain (with the rows removed per table). `confirm` must be
 * the workspace's exact name, so an id pasted by mistake deletes nothing.
 */
export async function deleteWorkspace({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; confirm: string };
}): Promise<void> {
  const at = ctx.deps.clock();
  await ctx.deps.db.transaction({ workspaceId: input.id }, async (tx) => {
    const found = await getWorkspace(tx, input.id);
    if (!found) throw noWorkspace();
    if (found.archivedAt == null) {
      throw new GatewayError(
        'WORKSPACE_NOT_ARCHIVED',
        'Only an archived workspace can be deleted: archive it first.',
      );
    }
    if (input.confirm !== found.name) {
      throw new GatewayError('VALIDATION_ERROR', 'confirm must be the exact name of the workspace.', [
        { path: 'confirm', message: 'does not match the workspace name' },
      ]);
    }
    const removed = await deleteWorkspaceRows(tx, input.id);
    const data = { name: found.name, removed };
    await appendAudit(tx, auditEvent({ ...ctx, workspaceId: null }, 'workspace.deleted', input.id, data, at));
  });
}
