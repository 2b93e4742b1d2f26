import type { Deps } from '../services/context.ts';
import { releaseDue } from '../services/execute/index.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

export function startReleaseJob(deps: Deps, everyMs = 1000): Job {
  return startPeriodicJob('queued release', () => releaseDue(deps), { everyMs, logger: deps.logger });
}
