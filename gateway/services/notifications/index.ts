/**
 * What goes into the outbox: events for webhooks and approvers, business callbacks, webhook
 * subscriptions.
 */
export { queueCallback, rotateCallbackSecret } from './callbacks.ts';
export { emit, notifyStage, Subscriptions } from './events.ts';
export { createWebhook, deleteWebhook, listDeliveries, listWebhooks, WEBHOOK_EVENTS } from './webhooks.ts';
