import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { hashSecret, newSecret } from '../secrets.ts';
import type { AgentKey, Scope } from '../store/types.ts';
import { auditEvent } from './audit.ts';
import type { Actor, Services } from './context.ts';

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
  workspaceId,
  actor,
  input,
}: {
  ctx: Services;
  workspaceId: string;
  actor: Actor;
  input: { agentId: string; scopes?: Scope[]; policy?: string };
}): Promise<AgentKeyView & { key: string }> {
  const at = ctx.clock();
  const secret = newSecret('agentKey');
  const key: AgentKey = {
    id: newId('agentKey'),
    workspaceId,
    agentId: input.agentId,
    keyHash: hashSecret(secret),
    keyPrefix: secret.slice(0, 10),
    scopes: [...new Set(input.scopes ?? ALL_SCOPES)],
    policyName: input.policy ?? null,
    createdBy: actor.id,
    createdAt: at,
    revokedAt: null,
  };
  await ctx.store.createAgentKey(
    key,
    auditEvent({
      workspaceId,
      actor,
      action: 'agent_key.created',
      target: key.id,
      data: { agentId: key.agentId, scopes: key.scopes },
      at,
    }),
  );
  return { ...viewKey(key), key: secret };
}

export async function listAgentKeys({ ctx, workspaceId }: { ctx: Services; workspaceId: string }) {
  return (await ctx.store.listAgentKeys(workspaceId)).map(viewKey);
}

export async function revokeAgentKey({
  ctx,
  workspaceId,
  actor,
  id,
}: {
  ctx: Services;
  workspaceId: string;
  actor: Actor;
  id: string;
}): Promise<void> {
  const at = ctx.clock();
  const revoked = await ctx.store.revokeAgentKey(
    workspaceId,
    id,
    at,
    auditEvent({ workspaceId, actor, action: 'agent_key.revoked', target: id, at }),
  );
  if (!revoked) throw new GatewayError('NOT_FOUND', 'No active agent key with this id in this workspace.');
}
