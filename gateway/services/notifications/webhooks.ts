import { checkOutboundUrl } from '../../../adapters/egress.ts';
import { GatewayError, type OutboxItem, type Webhook } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  getWebhook,
  listWebhooks as hooksOf,
  insertWebhook,
  listOutbox,
  deleteWebhook as remove,
} from '../../repositories/outbox.ts';
import { newSigningSecret } from '../../secrets.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

/** The events a webhook can subscribe to (DESIGN §5). */
export const WEBHOOK_EVENTS = [
  'approval.required',
  'approval.decided',
  'transaction.completed',
  'ledger.checkpoint',
  'policy.sync_failed',
] as const;
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
  input,
}: {
  ctx: ServiceContext;
  input: { url: string; events: WebhookEvent[] };
}) {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  // DESIGN §7: checked now; the dispatcher checks the resolved address again at every delivery.
  const check = checkOutboundUrl(input.url, { allowPrivate: deps.config.egressAllowPrivate });
  if (!check.ok) {
    throw new GatewayError('VALIDATION_ERROR', `The webhook URL is not allowed: ${check.reason}`, [
      { path: 'url', message: check.reason },
    ]);
  }
  const now = deps.clock();
  // Shown once, in clear; stored sealed under SECRETS_KEY (issue 10), opened by the sender.
  const secret = newSigningSecret();
  const webhook: Webhook = {
    id: newId('webhook'),
    workspaceId,
    url: input.url,
    events: [...new Set(input.events)],
    secret: deps.sealer.seal(secret),
    createdAt: now,
    deletedAt: null,
  };
  const audit = auditEvent(
    ctx,
    'webhook.created',
    webhook.id,
    { url: webhook.url, events: webhook.events },
    now,
  );
  await deps.db.transaction({ workspaceId }, async (tx) => {
    await insertWebhook(tx, webhook);
    await appendAudit(tx, audit);
  });
  deps.subscriptions.forget(workspaceId);
  return { ...viewWebhook(webhook), secret };
}

export async function listWebhooks({ ctx }: { ctx: ServiceContext }) {
  return (await hooksOf(ctx.deps.db.reader, workspaceOf(ctx))).map(viewWebhook);
}

export async function deleteWebhook({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string };
}): Promise<void> {
  const { id } = input;
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const now = deps.clock();
  const audit = auditEvent(ctx, 'webhook.deleted', id, {}, now);
  const deleted = await deps.db.transaction({ workspaceId }, async (tx) => {
    if (!(await remove(tx, workspaceId, id, now))) return false;
    await appendAudit(tx, audit);
    return true;
  });
  if (!deleted) throw new GatewayError('NOT_FOUND', `No webhook ${id}.`);
  deps.subscriptions.forget(workspaceId);
}

/** A webhook's deliveries, newest first (deleted webhooks' history stays readable). */
export async function listDeliveries({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; limit: number };
}) {
  const { id, limit } = input;
  const hook = await getWebhook(ctx.deps.db.reader, id);
  if (!hook || hook.workspaceId !== workspaceOf(ctx))
    throw new GatewayError('NOT_FOUND', `No webhook ${id}.`);
  return (await listOutbox(ctx.deps.db.reader, id, limit)).map(viewDelivery);
}
