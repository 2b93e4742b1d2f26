import type { Adapter } from '../../adapters/types.ts';
import type { GatewayError } from '../errors.ts';
import type { StoredResponse, Transaction } from '../store/types.ts';
import { callAdapter } from './adapter-call.ts';
import type { Services } from './context.ts';
import { withTransaction } from './operations.ts';

export type ForwardOutcome =
  | { ok: true; response: StoredResponse; upstreamMs: number }
  | { ok: false; error: GatewayError; upstreamMs: number };

/**
 * Executes an admitted transaction at its business and records the outcome in one write: the
 * status, the reservation posted (success) or voided (anything else), the idempotent answer.
 * Used by /agp/execute, queued releases and approved requests alike.
 */
export async function forwardAdmitted({
  ctx,
  transaction,
  adapter,
  requestId,
  signal,
}: {
  ctx: Services;
  transaction: Transaction;
  adapter: Adapter;
  requestId?: string;
  signal?: AbortSignal;
}): Promise<ForwardOutcome> {
  const idempotencyKey = transaction.idempotencyKey ?? undefined;
  const outcome = await callAdapter(() =>
    adapter.execute(
      transaction.request,
      { idempotencyKey },
      { businessId: transaction.businessId, transactionId: transaction.id, requestId, signal },
    ),
  );
  const at = ctx.clock();
  const idempotency = (response: StoredResponse) =>
    idempotencyKey ? { agentKeyId: transaction.agentKeyId, key: idempotencyKey, response } : undefined;

  if (!outcome.ok) {
    const error = withTransaction(outcome.error, transaction.id);
    const response = {
      status: error.status,
      body: { error: error.message, code: error.code, details: error.details },
    };
    await ctx.store.finishTransaction({
      transactionId: transaction.id,
      status: 'failed',
      data: null,
      error: outcome.recorded,
      at,
      idempotency: idempotency(response),
    });
    return { ok: false, error, upstreamMs: outcome.upstreamMs };
  }
  const { status, data = null } = outcome.result;
  const response: StoredResponse = { status: 200, body: { transactionId: transaction.id, status, data } };
  await ctx.store.finishTransaction({
    transactionId: transaction.id,
    status,
    data,
    error: null,
    at,
    idempotency: idempotency(response),
  });
  return { ok: true, response, upstreamMs: outcome.upstreamMs };
}
