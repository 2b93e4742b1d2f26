import { newId } from '../ids.ts';
import type { AuditEvent } from '../store/types.ts';
import type { Actor } from './context.ts';

export function auditEvent(input: {
  workspaceId: string | null;
  actor: Actor;
  action: string;
  target?: string;
  data?: Record<string, unknown>;
  at: number;
}): AuditEvent {
  return {
    id: newId('audit'),
    workspaceId: input.workspaceId,
    actorType: input.actor.type,
    actorId: input.actor.id,
    action: input.action,
    target: input.target ?? null,
    data: input.data ?? {},
    createdAt: input.at,
  };
}
