import { AdapterError, type AdapterResult } from '../../../adapters/types.ts';
import { GatewayError } from '../../domain/errors.ts';
import type { TransactionError } from '../../domain/index.ts';
import type { Deps } from '../context.ts';
import { isBreakerFailure, REJECTED } from '../platform/index.ts';

export type AdapterOutcome =
  | { ok: true; result: AdapterResult; upstreamMs: number }
  | {
      ok: false;
      error: GatewayError;
      recorded: TransactionError;
      upstreamMs: number;
      /** The business may have acted on the request: the outcome is unknown (DESIGN §7). */
      mayHaveActed: boolean;
    };

const UNAVAILABLE =
  'The business is unavailable: calls to it are paused after repeated connection failures or timeouts.';
const BUSY = 'The business is busy: too many calls to it are in flight. Retry later.';

/** What callAdapter consults before a call: the business's breaker, then its concurrency cap. */
export type AdapterGuards = Pick<Deps, 'breakers' | 'bulkheads'>;

/** A call refused before anything was sent: `failed`, its reservation voided (DESIGN §7). */
function refused(message: string, retryAfterSeconds: number): AdapterOutcome {
  const headers = { 'Retry-After': String(retryAfterSeconds) };
  return {
    ok: false,
    error: new GatewayError('ADAPTER_UNAVAILABLE', message, undefined, { headers }),
    recorded: { code: 'ADAPTER_UNAVAILABLE', message },
    upstreamMs: 0,
    mayHaveActed: false,
  };
}

/**
 * Calls an adapter and turns every failure into the gateway error the agent sees (502/503/504) and the
 * error the ledger records. Never throws. The business's circuit breaker is consulted first: while it
 * is open the call fails fast with 503 ADAPTER_UNAVAILABLE before any connection. Then the call takes
 * one of the business's `maxConcurrency` slots (ADAPTER_MAX_CONCURRENCY, or the business's own lower
 * cap; 0: none), waiting up to ADAPTER_QUEUE_TIMEOUT_MS for one; refused then, it is 503
 * ADAPTER_UNAVAILABLE too. Both refusals are recorded like a refused connection (nothing was sent:
 * `failed`, reservation voided; DESIGN §7).
 */
export async function callAdapter(
  guards: AdapterGuards,
  businessId: string,
  call: () => Promise<AdapterResult>,
  maxConcurrency: number,
): Promise<AdapterOutcome> {
  const { breakers, bulkheads } = guards;
  const admission = breakers.admit(businessId);
  if (admission === REJECTED) return refused(UNAVAILABLE, breakers.retryAfterSeconds(businessId));
  const capped = maxConcurrency > 0;
  // Below the cap this is synchronous: no promise, no timer.
  if (capped && !bulkheads.tryAcquire(businessId, maxConcurrency) && !(await bulkheads.wait(businessId))) {
    breakers.abandon(businessId, admission);
    return refused(BUSY, bulkheads.retryAfterSeconds());
  }
  const started = performance.now();
  try {
    const result = await call();
    breakers.record(businessId, admission, false);
    return { ok: true, result, upstreamMs: performance.now() - started };
  } catch (cause) {
    const upstreamMs = performance.now() - started;
    breakers.record(businessId, admission, isBreakerFailure(cause));
    if (cause instanceof AdapterError) {
      const details =
        cause.upstreamStatus === undefined ? undefined : { upstreamStatus: cause.upstreamStatus };
      return {
        ok: false,
        error: new GatewayError(cause.code, cause.message, details, { cause }),
        recorded: { code: cause.code, message: cause.message, ...details },
        upstreamMs,
        mayHaveActed: cause.mayHaveActed,
      };
    }
    const message = 'The adapter failed unexpectedly.';
    return {
      ok: false,
      error: new GatewayError('ADAPTER_ERROR', message, undefined, { cause }),
      recorded: { code: 'ADAPTER_ERROR', message },
      upstreamMs,
      mayHaveActed: false,
    };
  } finally {
    if (capped) bulkheads.release(businessId);
  }
}
