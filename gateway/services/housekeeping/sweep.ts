import { sweepConsole } from '../../repositories/console-sessions.ts';
import { sweepOAuthTokens } from '../../repositories/oauth.ts';
import { sweepRateCounters } from '../../repositories/rate.ts';
import { sweepSsoSignIns } from '../../repositories/sso.ts';
import { sweepIdempotency, sweepTokens } from '../../repositories/tokens.ts';
import { OTP_REQUEST_WINDOW_MS } from '../approvals/index.ts';
import type { Deps } from '../context.ts';

/** Tokens are swept only an hour after they expired, so a stale one is reported as expired (DESIGN §4). */
export const TOKEN_SWEEP_GRACE_MS = 60 * 60 * 1000;

/** Background clean-up, off the request path (DESIGN §8): expired tokens, idempotency records, counters. */
export async function sweepOnce(deps: Deps): Promise<void> {
  const now = deps.clock();
  await deps.db.transaction({}, async (tx) => {
    await sweepTokens(tx, now - TOKEN_SWEEP_GRACE_MS);
    await sweepIdempotency(tx, now);
    // Agent-key counters are per minute (the current and previous minute are read); one-time code
    // requests are counted over a sliding OTP_REQUEST_WINDOW_MS, and must outlive it.
    await sweepRateCounters(tx, now - Math.max(2 * 60_000, OTP_REQUEST_WINDOW_MS));
    // Console sessions that can no longer be resumed; sign-in links an hour after they expired (until
    // then a used or expired link still gets its own page).
    await sweepConsole(tx, {
      now,
      idleBefore: now - deps.config.consoleIdleMs,
      linksBefore: now - TOKEN_SWEEP_GRACE_MS,
    });
    // Single sign-ons under way (issue 22), an hour after they could no longer finish.
    await sweepSsoSignIns(tx, now - TOKEN_SWEEP_GRACE_MS);
    // OAuth codes and tokens an hour after they expired (until then a replayed one is recognised).
    await sweepOAuthTokens(tx, now - TOKEN_SWEEP_GRACE_MS);
  });
}
