import type { Deps } from '../services/context.ts';
import {
  deliverDue,
  OUTBOX_DEFAULTS,
  type OutboxOptions,
  type Senders,
} from '../services/notifications/index.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

/** The in-process worker: a round every `everyMs`, more at once while full batches keep coming. */
export function startOutboxJob(
  deps: Deps,
  senders: Senders,
  options: OutboxOptions & { everyMs?: number } = {},
): Job {
  const batch = options.batch ?? OUTBOX_DEFAULTS.batch;
  const drain = async () => {
    for (let round = 0; round < 10; round += 1) {
      const done = await deliverDue(deps, senders, options);
      if (done.delivered + done.retrying + done.failed < batch) return;
    }
  };
  return startPeriodicJob('outbox delivery', drain, {
    everyMs: options.everyMs ?? 1000,
    logger: deps.logger,
  });
}
