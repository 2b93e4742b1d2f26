import type { Services } from '../services/context.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

/** Tokens are swept only an hour after they expired, so a stale one is reported as expired (DESIGN §4). */
export const TOKEN_SWEEP_GRACE_MS = 60 * 60 * 1000;

/** Background clean-up, off the request path (DESIGN §8): expired tokens, idempotency records, counters. */
export async function sweepOnce(ctx: Services): Promise<void> {
  const now = ctx.clock();
  await ctx.store.sweepConfirmationTokens(now - TOKEN_SWEEP_GRACE_MS);
  await ctx.store.sweepIdempotencyRecords(now);
  // Rate counters are per minute; the current and previous minute are all that is ever read.
  await ctx.store.sweepRateCounters(now - 2 * 60_000);
}

export function startSweeper(ctx: Services, everyMs = 60_000): Job {
  return startPeriodicJob('sweep', () => sweepOnce(ctx), { everyMs, logger: ctx.logger, runAtStart: true });
}
