import { type AgentKey, GatewayError, type Scope } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  insertAgentKey,
  listAgentKeys as keysOf,
  revokeAgentKey as revoke,
} from '../../repositories/tenancy.ts';
import { hashSecret, newSecret } from '../../secrets.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

export const ALL_SCOPES: readonly Scope[] = ['discover', 'query', 'execute'];

export interface AgentKeyView {
  id: string;
  agentId: string;
  scopes: Scope[];
  policy: string | null;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export const viewKey = (key: AgentKey): AgentKeyView => ({
  id: key.id,
  agentId: key.agentId,
  scopes: key.scopes,
  policy: key.policyName,
  prefix: key.keyPrefix,
  createdAt: new Date(key.createdAt).toISOString(),
  revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
});

/** Creates an agent key; the secret is returned once and only its hash is stored. */
export async function createAgentKey({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { agentId: string; scopes?: Scope[]; policy?: string };
}): Promise<AgentKeyView & { key: string }> {
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  const secret = newSecret('agentKey');
  const key: AgentKey = {
    id: newId('agentKey'),
    workspaceId,
    agentId: input.agentId,
    keyHash: hashSecret(secret),
    keyPrefix: secret.slice(0, 10),
    scopes: [...new Set(input.scopes ?? ALL_SCOPES)],
    policyName: input.policy ?? null,
    createdBy: ctx.actor.id,
    createdAt: at,
    revokedAt: null,
  };
  const audit = auditEvent(
    ctx,
    'agent_key.created',
    key.id,
    { agentId: key.agentId, scopes: key.scopes },
    at,
  );
  await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    await insertAgentKey(tx, key);
    await appendAudit(tx, audit);
  });
  return { ...viewKey(key), key: secret };
}

export async function listAgentKeys({ ctx }: { ctx: ServiceContext }) {
  return (await keysOf(ctx.deps.db.reader, workspaceOf(ctx))).map(viewKey);
}

export async function revokeAgentKey({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string };
}): Promise<void> {
  const { id } = input;
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  const audit = auditEvent(ctx, 'agent_key.revoked', id, {}, at);
  const revoked = await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    if (!(await revoke(tx, workspaceId, id, at))) return false;
    await appendAudit(tx, audit);
    return true;
  });
  if (!revoked) throw new GatewayError('NOT_FOUND', 'No active agent key with this id in this workspace.');
}
