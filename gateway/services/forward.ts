import { setTimeout as sleep } from 'node:timers/promises';
import type { Adapter } from '../../adapters/types.ts';
import type { GatewayError } from '../errors.ts';
import type { FinishInput, StoredResponse, Transaction } from '../store/types.ts';
import { callAdapter } from './adapter-call.ts';
import type { Services } from './context.ts';
import { withTransaction } from './operations.ts';

export type ForwardOutcome =
  | { ok: true; response: StoredResponse; upstreamMs: number }
  | { ok: false; error: GatewayError; upstreamMs: number };

/** Pauses between attempts to record an outcome the business already gave (about 5 s in all). */
const RECORD_BACKOFF_MS = [25, 100, 400, 1_600, 3_200];

/**
 * Executes an admitted transaction at its business and records the outcome in one write: the
 * status, the reservation posted (success), kept (unknown) or voided (failure), the idempotent
 * answer. Used by /agp/execute, queued releases, approved requests and repeats that settle an
 * unknown outcome (`settling`) alike.
 *
 * The agent's abort signal is not passed on: once a request may be on its way, the gateway waits
 * for the business's answer (bounded by ADAPTER_TIMEOUT_MS) so the ledger learns the outcome even
 * when the agent has gone.
 */
export async function forwardAdmitted({
  ctx,
  transaction,
  adapter,
  requestId,
  settling = false,
}: {
  ctx: Services;
  transaction: Transaction;
  adapter: Adapter;
  requestId?: string;
  /** This forward repeats one whose outcome is unknown (same Idempotency-Key, same transaction). */
  settling?: boolean;
}): Promise<ForwardOutcome> {
  const idempotencyKey = transaction.idempotencyKey ?? undefined;
  const outcome = await callAdapter(() =>
    adapter.execute(
      transaction.request,
      { idempotencyKey },
      { businessId: transaction.businessId, transactionId: transaction.id, requestId },
    ),
  );
  const at = ctx.clock();
  const idempotency = (response: StoredResponse) =>
    idempotencyKey ? { agentKeyId: transaction.agentKeyId, key: idempotencyKey, response } : undefined;

  if (!outcome.ok) {
    // DESIGN §4, §7: a timeout or a connection lost after sending leaves the outcome unknown; so does
    // any failure of a repeat, since not reaching the business now says nothing of the first attempt.
    const unknown = outcome.mayHaveActed || settling;
    const error = withTransaction(outcome.error, transaction.id, unknown ? { status: 'unknown' } : {});
    const response = {
      status: error.status,
      body: { error: error.message, code: error.code, details: error.details },
    };
    await recordOutcome(ctx, {
      transactionId: transaction.id,
      status: unknown ? 'unknown' : 'failed',
      data: null,
      error: outcome.recorded,
      at,
      // No stored answer for an unknown outcome: a repeat with the key forwards again and settles it.
      idempotency: unknown ? undefined : idempotency(response),
    });
    return { ok: false, error, upstreamMs: outcome.upstreamMs };
  }
  const { status, data = null } = outcome.result;
  const response: StoredResponse = { status: 200, body: { transactionId: transaction.id, status, data } };
  await recordOutcome(ctx, {
    transactionId: transaction.id,
    status,
    data,
    error: null,
    at,
    idempotency: idempotency(response),
  });
  return { ok: true, response, upstreamMs: outcome.upstreamMs };
}

/**
 * The business has answered: the ledger must say so. A failing write is retried; if every attempt
 * fails the transaction stays `pending`, the orphan job marks it `unknown` and a repeat settles it.
 * Either way the agent gets the business's answer, never a 500 for a call that happened.
 */
async function recordOutcome(ctx: Services, input: FinishInput): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.store.finishTransaction(input);
      return;
    } catch (err) {
      const pause = RECORD_BACKOFF_MS[attempt];
      const fields = { err, transactionId: input.transactionId, attempt: attempt + 1 };
      if (pause === undefined) {
        ctx.logger.error(fields, 'the outcome could not be recorded; the orphan job will mark it unknown');
        return;
      }
      ctx.logger.warn(fields, 'recording the outcome failed; retrying');
      await sleep(pause);
    }
  }
}
