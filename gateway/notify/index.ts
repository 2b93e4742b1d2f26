import type { Dispatcher } from 'undici';
import type { Deps } from '../services/context.ts';
import { emailSender } from './email.ts';
import type { Mailer } from './mailer.ts';
import type { Senders } from './outbox-worker.ts';
import { callbackSender, webhookSender } from './webhook.ts';

export { createMailer, type Mailer, type MailMessage } from './mailer.ts';
export { deliverDue, type OutboxOptions, type Senders, startOutboxJob } from './outbox-worker.ts';

/** The outbox's senders: email through `mailer`, webhooks through the egress-checked `dispatcher`. */
export function createSenders({
  deps,
  mailer,
  dispatcher,
}: {
  deps: Deps;
  mailer: Mailer;
  dispatcher: Dispatcher;
}): Senders {
  return {
    email: emailSender({ deps, mailer }),
    webhook: webhookSender({ deps, dispatcher }),
    callback: callbackSender({ deps, dispatcher }),
  };
}
