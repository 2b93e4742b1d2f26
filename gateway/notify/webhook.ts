import { Webhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';
import { checkOutboundUrl } from '../../adapters/egress.ts';
import type { OutboxItem } from '../domain/index.ts';
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
    const eventId = typeof item.payload.id === 'string' ? item.payload.id : item.id;
    const body = JSON.stringify(item.payload);
    // Wall time, not the injectable clock: receivers check the timestamp against their own clock.
    const now = new Date();
    const url = new URL(hook.url);
    const response = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Warden-Webhooks/1',
        'webhook-id': eventId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(hook.secret).sign(eventId, now, body),
      },
      body,
    });
    const text = await readSome(response.body, ERROR_BODY_CHARS);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(`HTTP ${response.statusCode}${text ? `: ${text.slice(0, ERROR_BODY_CHARS)}` : ''}`);
    }
  };
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
