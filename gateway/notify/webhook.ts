import { Webhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';
import { checkOutboundUrl } from '../../adapters/egress.ts';
import type { OutboxItem } from '../domain/index.ts';
import { getCallbackSecret } from '../repositories/callback-secrets.ts';
import { getWebhook } from '../repositories/outbox.ts';
import type { Deps } from '../services/context.ts';
import { PermanentDeliveryError } from './outbox-worker.ts';

/** How much of a failing receiver's answer is kept as the delivery's last error. */
const ERROR_BODY_CHARS = 200;

/**
 * Delivers `webhook` outbox items (DESIGN §5): the event `{id, type, timestamp, data}` as JSON,
 * signed with Standard Webhooks and the subscription's secret (`webhook-id` is the event id, the
 * same on every retry, so receivers can drop duplicates), posted through the egress-checked
 * dispatcher. Anything but a 2xx throws, and the worker retries.
 */
export function webhookSender({ deps, dispatcher }: { deps: Deps; dispatcher: Dispatcher }) {
  return async function deliverWebhook(item: OutboxItem): Promise<void> {
    if (!item.targetId) throw new PermanentDeliveryError('The delivery names no webhook.');
    const hook = await getWebhook(deps.db.reader, item.targetId);
    if (!hook || hook.deletedAt !== null) throw new PermanentDeliveryError('The webhook was deleted.');
    const check = checkOutboundUrl(hook.url, { allowPrivate: deps.config.egressAllowPrivate });
    if (!check.ok) throw new PermanentDeliveryError(check.reason);
    // Sealed at rest (issue 10). A key that cannot open it throws a retryable error naming the key
    // id: deliveries resume once SECRETS_KEY_PREVIOUS holds that key again.
    const secret = deps.sealer.open(hook.secret);
    const eventId = typeof item.payload.id === 'string' ? item.payload.id : item.id;
    await postSigned(dispatcher, { url: hook.url, secret, eventId, payload: item.payload });
  };
}

/**
 * Delivers `callback` outbox items: an evaluation's `webhook_url` (DESIGN §5) receives
 * approval_required and terminal_outcome, signed like every webhook, with the workspace's callback
 * secret; the URL is checked again at delivery (DESIGN §7).
 */
export function callbackSender({ deps, dispatcher }: { deps: Deps; dispatcher: Dispatcher }) {
  return async function deliverCallback(item: OutboxItem): Promise<void> {
    const { url, event } = item.payload as { url?: unknown; event?: { id?: unknown } };
    if (typeof url !== 'string' || !event || typeof event.id !== 'string' || !item.workspaceId) {
      throw new PermanentDeliveryError('The callback names no URL or event.');
    }
    const check = checkOutboundUrl(url, { allowPrivate: deps.config.egressAllowPrivate });
    if (!check.ok) throw new PermanentDeliveryError(check.reason);
    const sealed = await getCallbackSecret(deps.db.reader, item.workspaceId);
    if (!sealed) throw new PermanentDeliveryError('The workspace has no callback secret.');
    await postSigned(dispatcher, {
      url,
      secret: deps.sealer.open(sealed),
      eventId: event.id,
      payload: event,
    });
  };
}

/**
 * One Standard Webhooks delivery: the JSON event, `webhook-id` (the event id, the same on every
 * retry, so receivers can drop duplicates), timestamp and signature. Anything but a 2xx throws.
 */
async function postSigned(
  dispatcher: Dispatcher,
  d: { url: string; secret: string; eventId: string; payload: unknown },
): Promise<void> {
  const body = JSON.stringify(d.payload);
  // Wall time, not the injectable clock: receivers check the timestamp against their own clock.
  const now = new Date();
  const url = new URL(d.url);
  const response = await dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Warden-Webhooks/1',
      'webhook-id': d.eventId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(d.secret).sign(d.eventId, now, body),
    },
    body,
  });
  const text = await readSome(response.body, ERROR_BODY_CHARS);
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw new Error(`HTTP ${response.statusCode}${text ? `: ${text.slice(0, ERROR_BODY_CHARS)}` : ''}`);
  }
}

/** The start of a body, at most `limit` bytes; the rest is not read (a receiver may answer anything). */
async function readSome(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    chunks.push(buf);
    size += buf.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}
