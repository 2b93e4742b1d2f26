import { type Deps, systemContext } from '../services/context.ts';
import { sequenceLedger } from '../services/sequencer/index.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

/**
 * The ledger log's sequencer (DESIGN §9): every half LEDGER_SEQUENCE_MS, appends what committed to
 * each workspace's log, so an entry waits at most about LEDGER_SEQUENCE_MS. Every replica runs it;
 * a log another replica is appending is skipped, and what a dead replica left is taken on the next
 * tick. At start too: what committed before a crash is appended at once; and once more at a clean
 * stop, so what the last requests committed is not left for the next start.
 */
export function startSequencer(
  deps: Deps,
  everyMs = Math.max(25, Math.floor(deps.config.ledgerSequenceMs / 2)),
): Job {
  return startPeriodicJob('ledger sequencer', () => sequenceLedger({ ctx: systemContext(deps) }), {
    everyMs,
    logger: deps.logger,
    runAtStart: true,
    runAtStop: true,
  });
}
