import type { Deps } from '../services/context.ts';
import { sweepOnce } from '../services/housekeeping/index.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

export function startSweeper(deps: Deps, everyMs = 60_000): Job {
  return startPeriodicJob('sweep', () => sweepOnce(deps), { everyMs, logger: deps.logger, runAtStart: true });
}
