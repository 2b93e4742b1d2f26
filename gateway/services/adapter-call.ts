import { AdapterError, type AdapterResult } from '../../adapters/types.ts';
import { GatewayError } from '../domain/errors.ts';
import type { TransactionError } from '../domain/index.ts';
import { type Breakers, isBreakerFailure, REJECTED } from './breaker.ts';

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

/**
 * Calls an adapter and turns every failure into the gateway error the agent sees (502/503/504) and the
 * error the ledger records. Never throws. The business's circuit breaker is consulted first: while it
 * is open the call fails fast with 503 ADAPTER_UNAVAILABLE before any connection, recorded like a
 * refused connection (nothing was sent: `failed`, reservation voided; DESIGN §7).
 */
export async function callAdapter(
  breakers: Breakers,
  businessId: string,
  call: () => Promise<AdapterResult>,
): Promise<AdapterOutcome> {
  const admission = breakers.admit(businessId);
  if (admission === REJECTED) {
    const headers = { 'Retry-After': String(breakers.retryAfterSeconds(businessId)) };
    return {
      ok: false,
      error: new GatewayError('ADAPTER_UNAVAILABLE', UNAVAILABLE, undefined, { headers }),
      recorded: { code: 'ADAPTER_UNAVAILABLE', message: UNAVAILABLE },
      upstreamMs: 0,
      mayHaveActed: false,
    };
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
  }
}
