/**
 * A delivery that can never succeed (unknown template, webhook deleted): the outbox fails it at once,
 * with no retry. Here, beside the transports, so every sender can throw it.
 */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}
