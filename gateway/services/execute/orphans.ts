import { markOrphans } from '../../repositories/transactions.ts';
import type { Deps } from '../context.ts';

export const ORPHAN_ERRORS = {
  execute: {
    code: 'OUTCOME_UNKNOWN',
    message:
      'The gateway stopped before the business answered; the outcome is unknown. Repeat the execute with its Idempotency-Key to settle it.',
  },
  read: { code: 'INTERRUPTED', message: 'The gateway stopped before the business answered.' },
} as const;

/**
 * An execute still `pending` once ADAPTER_TIMEOUT_MS + ORPHAN_GRACE_SECONDS have passed since it was
 * forwarded has no process waiting on it any more: the one that forwarded it died. Its outcome is
 * unknown (DESIGN §4): its reservation keeps counting until a repeat or an admin settles it. Reads
 * (discover, query) change nothing at the business and simply fail.
 */
export async function markOrphansOnce(deps: Deps): Promise<number> {
  const now = deps.clock();
  const before = now - deps.config.adapterTimeoutMs - deps.config.orphanGraceMs;
  const marked = await deps.db.transaction({}, (tx) => markOrphans(tx, before, now, ORPHAN_ERRORS));
  if (marked.unknown > 0) {
    deps.logger.warn({ unknown: marked.unknown }, 'executes orphaned mid-forward marked unknown');
  }
  return marked.unknown + marked.failed;
}
