import type { Dispatcher } from 'undici';
import { checkOutboundUrl } from '../../../adapters/egress.ts';
import type { OutboxItem } from '../../domain/index.ts';
import { PermanentDeliveryError } from '../../notify/delivery.ts';
import { postSigned } from '../../notify/webhook.ts';
import { getCallbackSecret } from '../../repositories/callback-secrets.ts';
import { getWebhook } from '../../repositories/outbox.ts';
import type { Deps } from '../context.ts';

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
