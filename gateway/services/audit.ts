import type { AuditEvent } from '../domain/index.ts';
import { newId } from '../ids.ts';
import { listAudit } from '../repositories/audit.ts';
import { type ServiceContext, workspaceOf } from './context.ts';

/** An audit event of `ctx`'s actor in its workspace, now (DESIGN §9); write it in the change's transaction. */
export function auditEvent(
  ctx: ServiceContext,
  action: string,
  target: string | null,
  data: Record<string, unknown> = {},
  at = ctx.deps.clock(),
): AuditEvent {
  return {
    id: newId('audit'),
    workspaceId: ctx.workspaceId,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id,
    action,
    target,
    data,
    createdAt: at,
  };
}

/** The workspace's audit events, newest first, with the id to continue before. */
export async function listAuditEvents({
  ctx,
  query,
}: {
  ctx: ServiceContext;
  query: { limit: number; before?: string };
}) {
  const events = await listAudit(ctx.deps.db.reader, workspaceOf(ctx), query);
  return {
    events: events.map((e) => ({
      id: e.id,
      action: e.action,
      actor: { type: e.actorType, id: e.actorId },
      target: e.target,
      data: e.data,
      createdAt: new Date(e.createdAt).toISOString(),
    })),
    nextBefore: events.length === query.limit ? (events.at(-1)?.id ?? null) : null,
  };
}
