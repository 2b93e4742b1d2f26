/**
 * What goes into the outbox: events for webhooks and approvers, business callbacks, webhook
 * subscriptions.
 */
export { queueCallback, rotateCallbackSecret } from './callbacks.ts';
export { queueChannelPosts, queueChannelUpdates } from './channels.ts';
export { emit, notifyStage } from './events.ts';
export {
  type DeliveryRound,
  deliverDue,
  nextAttemptAt,
  OUTBOX_DEFAULTS,
  type OutboxOptions,
  type Senders,
} from './outbox.ts';
export { callbackSender, webhookSender } from './senders.ts';
export { Subscriptions } from './subscriptions.ts';
export {
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  viewDelivery,
  WEBHOOK_EVENTS,
} from './webhooks.ts';
