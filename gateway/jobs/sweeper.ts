import type { Services } from '../services/context.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

/** Tokens are swept only an hour after they expired, so a stale one is reported as expired (DESIGN §4). */
export const TOKEN_SWEEP_GRACE_MS = 60 * 60 * 1000;

/**
 * Background clean-up, off the request path (DESIGN §8): expired tokens and idempotency records,
 * and executes orphaned by a process that died mid-flight (failed, with an honest message).
 */
export async function sweepOnce(ctx: Services): Promise<void> {
  const now = ctx.clock();
  await ctx.store.sweepConfirmationTokens(now - TOKEN_SWEEP_GRACE_MS);
  await ctx.store.sweepIdempotencyRecords(now);
  // Rate counters are per minute; the current and previous minute are all that is ever read.
  await ctx.store.sweepRateCounters(now - 2 * 60_000);
  // Anything still pending well past the adapter timeout has no process waiting on it any more.
  const staleBefore = now - ctx.config.adapterTimeoutMs - 60_000;
  const message = 'The gateway stopped before the business answered; the outcome is unknown.';
  const failed = await ctx.store.failStaleTransactions(
    staleBefore,
    { code: 'INTERRUPTED', message },
    (id) => ({
      status: 502,
      body: { error: message, code: 'ADAPTER_ERROR', details: { transactionId: id } },
    }),
  );
  if (failed > 0) ctx.logger.warn({ failed }, 'marked interrupted transactions as failed');
}

export function startSweeper(ctx: Services, everyMs = 60_000): Job {
  return startPeriodicJob('sweep', () => sweepOnce(ctx), { everyMs, logger: ctx.logger, runAtStart: true });
}
