import { checkOutboundUrl } from '../../adapters/egress.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { newSigningSecret } from '../secrets.ts';
import type { OutboxItem, Webhook } from '../store/types.ts';
import { auditEvent } from './audit.ts';
import type { Actor, Services } from './context.ts';

/** The events a webhook can subscribe to (DESIGN §5). */
export const WEBHOOK_EVENTS = ['approval.required', 'approval.decided', 'transaction.completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A subscription as listed: never its secret, which is shown once, at creation. */
export const viewWebhook = (w: Webhook) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  createdAt: iso(w.createdAt),
});

export const viewDelivery = (item: OutboxItem) => ({
  id: item.id,
  eventId: typeof item.payload.id === 'string' ? item.payload.id : null,
  event: typeof item.payload.type === 'string' ? item.payload.type : null,
  status: item.status,
  attempts: item.attempts,
  lastError: item.lastError,
  nextAttemptAt: item.status === 'pending' ? iso(item.nextAttemptAt) : null,
  createdAt: iso(item.createdAt),
  updatedAt: iso(item.updatedAt),
});

export async function createWebhook({
  ctx,
  workspaceId,
  actor,
  input,
}: {
  ctx: Services;
  workspaceId: string;
  actor: Actor;
  input: { url: string; events: WebhookEvent[] };
}) {
  // DESIGN §7: checked now; the dispatcher checks the resolved address again at every delivery.
  const check = checkOutboundUrl(input.url, { allowPrivate: ctx.config.egressAllowPrivate });
  if (!check.ok) {
    throw new GatewayError('VALIDATION_ERROR', `The webhook URL is not allowed: ${check.reason}`, [
      { path: 'url', message: check.reason },
    ]);
  }
  const now = ctx.clock();
  const webhook: Webhook = {
    id: newId('webhook'),
    workspaceId,
    url: input.url,
    events: [...new Set(input.events)],
    secret: newSigningSecret(),
    createdAt: now,
    deletedAt: null,
  };
  await ctx.store.createWebhook(
    webhook,
    auditEvent({
      workspaceId,
      actor,
      action: 'webhook.created',
      target: webhook.id,
      data: { url: webhook.url, events: webhook.events },
      at: now,
    }),
  );
  return { ...viewWebhook(webhook), secret: webhook.secret };
}

export async function listWebhooks({ ctx, workspaceId }: { ctx: Services; workspaceId: string }) {
  return (await ctx.store.listWebhooks(workspaceId)).map(viewWebhook);
}

export async function deleteWebhook({
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
  const now = ctx.clock();
  const deleted = await ctx.store.deleteWebhook(
    workspaceId,
    id,
    now,
    auditEvent({ workspaceId, actor, action: 'webhook.deleted', target: id, at: now }),
  );
  if (!deleted) throw new GatewayError('NOT_FOUND', `No webhook ${id}.`);
}

/** A webhook's deliveries, newest first (deleted webhooks' history stays readable). */
export async function listDeliveries({
  ctx,
  workspaceId,
  id,
  limit,
}: {
  ctx: Services;
  workspaceId: string;
  id: string;
  limit: number;
}) {
  const hook = await ctx.store.getWebhook(id);
  if (!hook || hook.workspaceId !== workspaceId) throw new GatewayError('NOT_FOUND', `No webhook ${id}.`);
  return (await ctx.store.listOutbox(id, limit)).map(viewDelivery);
}
