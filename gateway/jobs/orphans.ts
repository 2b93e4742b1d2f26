import type { Deps } from '../services/context.ts';
import { markOrphansOnce } from '../services/execute/index.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

/** Every 5 s at most (DESIGN §4), on every replica: the marking is one conditional update. */
export function startOrphanJob(deps: Deps, everyMs = 5_000): Job {
  return startPeriodicJob('orphan job', () => markOrphansOnce(deps), {
    everyMs,
    logger: deps.logger,
    runAtStart: true,
  });
}
