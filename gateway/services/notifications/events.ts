import type { Conn } from '../../db/types.ts';
import type { ApprovalStage, EventType, Role } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { insertOutbox } from '../../repositories/outbox.ts';
import { membersWithRole } from '../../repositories/tenancy.ts';
import type { StepContext } from '../context.ts';
import { queueChannelPosts } from './channels.ts';

/**
 * Writes an event's deliveries into the outbox in the caller's transaction (DESIGN §2): one row per
 * webhook subscribed to it and, for a stage that needs people, one email per member with its role.
 * Nothing to deliver writes nothing.
 */
export async function emit(
  tx: Conn,
  ctx: StepContext<'subscriptions'>,
  event: {
    workspaceId: string;
    type: EventType;
    data: Record<string, unknown>;
    at: number;
    emailRole?: Role;
  },
): Promise<void> {
  const { workspaceId, type, data, at } = event;
  const hooks = (await ctx.deps.subscriptions.get(tx, workspaceId)).filter((hook) =>
    hook.events.includes(type),
  );
  // Most workspaces subscribe to nothing: no event is built for them (every execute emits one).
  if (hooks.length === 0 && !event.emailRole) return;
  const envelope = { id: newId('event'), type, timestamp: new Date(at).toISOString(), data };
  for (const hook of hooks) {
    await insertOutbox(tx, {
      id: newId('outbox'),
      workspaceId,
      kind: 'webhook',
      targetId: hook.id,
      payload: envelope,
      at,
    });
  }
  if (!event.emailRole) return;
  for (const person of await membersWithRole(tx, workspaceId, event.emailRole)) {
    await insertOutbox(tx, {
      id: newId('outbox'),
      workspaceId,
      kind: 'email',
      targetId: person.id,
      payload: { template: type, memberId: person.id, email: person.email, ...data },
      at,
    });
  }
}

/**
 * A stage that became active asks for people: its webhooks, an email to everyone with its role, and
 * a message on the workspace's Slack and Teams connections (issue 23).
 */
export async function notifyStage(
  tx: Conn,
  ctx: StepContext<'subscriptions'>,
  input: {
    approval: { id: string; workspaceId: string; transactionId: string };
    stage: Pick<ApprovalStage, 'position' | 'index' | 'role' | 'tier' | 'deadlineAt'>;
    at: number;
  },
): Promise<void> {
  const { approval, stage, at } = input;
  await queueChannelPosts(tx, {
    workspaceId: approval.workspaceId,
    approvalId: approval.id,
    position: stage.position,
    at,
  });
  await emit(tx, ctx, {
    workspaceId: approval.workspaceId,
    type: 'approval.required',
    data: {
      approvalId: approval.id,
      transactionId: approval.transactionId,
      stage: {
        position: stage.position,
        index: stage.index,
        role: stage.role,
        tier: stage.tier,
        deadlineAt: stage.deadlineAt === null ? null : new Date(stage.deadlineAt).toISOString(),
      },
    },
    at,
    emailRole: stage.role,
  });
}
