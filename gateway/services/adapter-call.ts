import { AdapterError, type AdapterResult } from '../../adapters/types.ts';
import { GatewayError } from '../domain/errors.ts';
import type { TransactionError } from '../domain/index.ts';

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

/**
 * Calls an adapter and turns every failure into the gateway error the agent sees (502/504) and the
 * error the ledger records. Never throws.
 */
export async function callAdapter(call: () => Promise<AdapterResult>): Promise<AdapterOutcome> {
  const started = performance.now();
  try {
    const result = await call();
    return { ok: true, result, upstreamMs: performance.now() - started };
  } catch (cause) {
    const upstreamMs = performance.now() - started;
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
