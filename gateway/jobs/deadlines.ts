import { fireDueDeadlines } from '../services/approvals/index.ts';
import type { Deps } from '../services/context.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

export function startDeadlineJob(deps: Deps, everyMs = 1000): Job {
  // At start too: deadlines that passed while the process was down fire at once.
  return startPeriodicJob('deadline job', () => fireDueDeadlines(deps), {
    everyMs,
    logger: deps.logger,
    runAtStart: true,
  });
}
