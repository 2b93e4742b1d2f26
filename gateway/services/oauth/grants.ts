import { GatewayError } from '../../domain/index.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { memberGrants, revokeMemberGrant } from '../../repositories/oauth.ts';
import { listAgentKeys } from '../../repositories/tenancy.ts';
import type { ServiceContext } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

/** A client a member connected, as the console lists it. */
export interface AuthorizedClient {
  id: string;
  clientId: string;
  clientName: string | null;
  agentId: string;
  scopes: string[];
  resource: string;
  createdAt: number;
  lastUsedAt: number | null;
}

function memberOf(ctx: ServiceContext): { workspaceId: string; memberId: string } {
  if (!ctx.workspaceId || ctx.actor.type !== 'member' || !ctx.actor.id) {
    throw new GatewayError('FORBIDDEN', 'Only a member has authorised clients.');
  }
  return { workspaceId: ctx.workspaceId, memberId: ctx.actor.id };
}

/** The clients the acting member authorised and that are still connected, newest first. */
export async function listAuthorizedClients({ ctx }: { ctx: ServiceContext }): Promise<AuthorizedClient[]> {
  const { workspaceId, memberId } = memberOf(ctx);
  const reader = ctx.deps.db.reader;
  const [grants, keys] = await Promise.all([
    memberGrants(reader, workspaceId, memberId),
    listAgentKeys(reader, workspaceId),
  ]);
  const agentOf = new Map(keys.map((k) => [k.id, k.agentId]));
  return grants.map((g) => ({
    id: g.id,
    clientId: g.clientId,
    clientName: g.clientName,
    agentId: agentOf.get(g.agentKeyId) ?? g.agentKeyId,
    scopes: g.scopes,
    resource: g.resource,
    createdAt: g.createdAt,
    lastUsedAt: g.lastUsedAt,
  }));
}

/** The member disconnects one of their clients: the grant ends, and with it every token under it (each use reads the grant). */
export async function revokeAuthorizedClient({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string };
}): Promise<void> {
  const { workspaceId, memberId } = memberOf(ctx);
  const now = ctx.deps.clock();
  await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    const revoked = await revokeMemberGrant(tx, { id: input.id, workspaceId, memberId, now });
    if (revoked === 0) throw new GatewayError('NOT_FOUND', 'No such authorised client.');
    await appendAudit(tx, auditEvent(ctx, 'oauth.client_revoked', input.id, {}, now));
  });
}
