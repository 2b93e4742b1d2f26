/**
 * Transports only: the mailer, the signed webhook POST, and the formatting messages share. What to send
 * and when (the outbox, approval emails and their links) is in services/.
 */
export { PermanentDeliveryError } from './delivery.ts';
export { formatAmount, formatTime, whyApproval } from './format.ts';
export { createMailer, type Mailer, type MailMessage } from './mailer.ts';
export { postJson, postSigned } from './webhook.ts';
