import { setTimeout as sleep } from 'node:timers/promises';
import type { Adapter } from '../../../adapters/types.ts';
import { type Conn, workspaceRows } from '../../db/types.ts';
import type {
  GatewayError,
  StoredResponse,
  Transaction,
  TransactionError,
  TransactionStatus,
} from '../../domain/index.ts';
import { answerIdempotency } from '../../repositories/tokens.ts';
import { type Finish, finish, type Settled, settleSpend } from '../../repositories/transactions.ts';
import { endSpan, inSpan, startChildSpan } from '../../tracing/index.ts';
import type { ServiceContext, StepContext } from '../context.ts';
import { issueReceipt, RECEIPTED } from '../ledger/index.ts';
import { emit } from '../notifications/index.ts';
import { callAdapter } from './adapter-call.ts';
import { attachTransactionId, executedAnswer } from './answers.ts';
import { observeAdapterCall } from './observe.ts';

export type ForwardOutcome =
  | { ok: true; response: StoredResponse; upstreamMs: number }
  | { ok: false; error: GatewayError; upstreamMs: number };

/** Pauses between attempts to record an outcome the business already gave (about 5 s in all). */
const RECORD_BACKOFF_MS = [25, 100, 400, 1_600, 3_200];

/**
 * Executes an admitted transaction at its business and records the outcome in one transaction: the
 * status, the reservation posted (success), kept (unknown) or voided (failure), the idempotent
 * answer, the transaction.completed event. Used by /agp/execute, queued releases, approved requests
 * and repeats that settle an unknown outcome (`settling`) alike.
 *
 * The agent's abort signal is not passed on: once a request may be on its way, the gateway waits
 * for the business's answer (bounded by ADAPTER_TIMEOUT_MS) so the ledger learns the outcome even
 * when the agent has gone.
 */
export async function forwardAdmitted({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: {
    transaction: Transaction;
    adapter: Adapter;
    /** This forward repeats one whose outcome is unknown (same Idempotency-Key, same transaction). */
    settling?: boolean;
  };
}): Promise<ForwardOutcome> {
  const { deps, requestId } = ctx;
  const { transaction, adapter, settling = false } = input;
  const idempotencyKey = transaction.idempotencyKey ?? undefined;
  const { businessId } = transaction;
  if (businessId === null) throw new Error(`${transaction.id} is an evaluation: nothing is forwarded.`);
  // Issue 24: the adapter call's span (the breaker, the concurrency cap and the call); an http
  // adapter adds its client span under it and sends its `traceparent` to the business.
  const call = startChildSpan(ctx.trace, 'warden.adapter_call', () => ({
    'warden.business.id': businessId,
    'warden.transaction.id': transaction.id,
  }));
  const outcome = await callAdapter(
    deps,
    businessId,
    () =>
      adapter.execute(
        transaction.request,
        { idempotencyKey },
        { businessId, transactionId: transaction.id, requestId, trace: call?.trace },
      ),
    adapter.maxConcurrency ?? deps.config.adapterMaxConcurrency,
  );
  endSpan(call?.span, outcome.ok ? undefined : outcome.error);
  observeAdapterCall(deps.metrics, businessId, outcome);
  if (!outcome.ok) {
    // DESIGN §4, §7: a timeout or a connection lost after sending leaves the outcome unknown; so does
    // any failure of a repeat, since not reaching the business now says nothing of the first attempt.
    const unknown = outcome.mayHaveActed || settling;
    const error = attachTransactionId(outcome.error, transaction.id, unknown ? { status: 'unknown' } : {});
    const response = {
      status: error.status,
      body: { error: error.message, code: error.code, details: error.details },
    };
    await recordOutcome(ctx, transaction, {
      status: unknown ? 'unknown' : 'failed',
      data: null,
      error: outcome.recorded,
      // No stored answer for an unknown outcome: a repeat with the key forwards again and settles it.
      answer: unknown ? undefined : response,
    });
    return { ok: false, error, upstreamMs: outcome.upstreamMs };
  }
  const { status, data = null } = outcome.result;
  const answer = executedAnswer(transaction.id, status, data);
  const recorded = await recordOutcome(ctx, transaction, { status, data, error: null, answer });
  // The 200 carries the receipt (DESIGN §9), and so does its idempotent replay (stored with it).
  return { ok: true, response: recorded?.answer ?? answer, upstreamMs: outcome.upstreamMs };
}

export interface Outcome {
  status: TransactionStatus;
  data: unknown;
  error: TransactionError | null;
  /** What a replay with the Idempotency-Key answers from now on. */
  answer: StoredResponse | undefined;
}

export interface Recorded {
  transaction: Settled;
  /** The signed receipt, when the outcome is one that gets one (DESIGN §9). */
  receipt: string | null;
  /** The answer as stored for replays: a 200 with its receipt. */
  answer: StoredResponse | undefined;
}

/**
 * Finishes a pending (or unknown) transaction in `tx`: status, spend, receipt, idempotent answer,
 * event. Undefined when it was no longer pending or unknown (another process finished it).
 * It needs no scope: every write is conditional on the status or keyed by the transaction.
 */
export async function recordFinish(
  tx: Conn,
  ctx: StepContext,
  input: { transaction: Transaction; outcome: Outcome; at: number; from?: Finish['from'] },
): Promise<Recorded | undefined> {
  const { deps } = ctx;
  const { transaction, outcome: o, at, from = ['pending', 'unknown'] } = input;
  const finished = await finish(tx, {
    id: transaction.id,
    status: o.status,
    data: o.data,
    error: o.error,
    at,
    from,
  });
  if (!finished) return undefined;
  const settled = o.status !== 'unknown';
  // Independent statements, sent together (pipelined on PostgreSQL): the receipt, the spend moved
  // from pending to posted, the completion event. Only the idempotent answer waits, for the receipt.
  // DESIGN §9: executes (and reported evaluations) get receipts; discover and query do not.
  const [receipt] = await Promise.all([
    RECEIPTED.has(o.status) && (transaction.operation === 'execute' || transaction.operation === 'evaluate')
      ? issueReceipt(tx, deps, { ...transaction, status: o.status, data: o.data }, at)
      : null,
    settled ? settleSpend(tx, finished) : undefined,
    settled && (finished.operation === 'execute' || finished.operation === 'evaluate')
      ? emit(tx, ctx, {
          workspaceId: finished.workspaceId,
          type: 'transaction.completed',
          data: { transactionId: finished.id, status: o.status, businessId: finished.businessId },
          at,
        })
      : undefined,
  ]);
  const answer = receipt && o.answer?.status === 200 ? withReceipt(o.answer, receipt) : o.answer;
  if (answer && transaction.idempotencyKey) {
    await answerIdempotency(tx, transaction.agentKeyId, transaction.idempotencyKey, answer);
  }
  return { transaction: finished, receipt, answer };
}

function withReceipt(answer: StoredResponse, receipt: string): StoredResponse {
  return { status: answer.status, body: { ...(answer.body as Record<string, unknown>), receipt } };
}

/**
 * The business has answered: the ledger must say so. A failing write is retried; if every attempt
 * fails the transaction stays `pending`, the orphan job marks it `unknown` and a repeat settles it.
 * Either way the agent gets the business's answer, never a 500 for a call that happened.
 */
async function recordOutcome(
  ctx: ServiceContext,
  transaction: Transaction,
  outcome: Outcome,
): Promise<Recorded | undefined> {
  // Issue 24: the outcome write's span (status, spend, receipt, idempotent answer), when traced.
  return inSpan(
    ctx.trace,
    'warden.outcome_write',
    () => ({ 'warden.transaction.id': transaction.id, 'warden.transaction.status': outcome.status }),
    async (_trace, span) => {
      const recorded = await writeOutcome(ctx, transaction, outcome);
      if (span?.isRecording()) span.setAttribute('warden.receipt.issued', Boolean(recorded?.receipt));
      return recorded;
    },
  );
}

async function writeOutcome(
  ctx: ServiceContext,
  transaction: Transaction,
  outcome: Outcome,
): Promise<Recorded | undefined> {
  const { deps } = ctx;
  // No lock (DESIGN §8): settling an outcome and writing its receipt wait for no other replica; the
  // finish is conditional on the status, and the ledger log orders the receipt afterwards. The
  // workspace's hot rows are taken one batch at a time in this process (workspaceRows).
  const scope = workspaceRows(transaction.workspaceId);
  for (let attempt = 0; ; attempt++) {
    try {
      const at = deps.clock();
      return await deps.db.transaction(scope, (tx) => recordFinish(tx, ctx, { transaction, outcome, at }));
    } catch (err) {
      const pause = RECORD_BACKOFF_MS[attempt];
      const fields = { err, transactionId: transaction.id, attempt: attempt + 1 };
      if (pause === undefined) {
        deps.logger.error(fields, 'the outcome could not be recorded; the orphan job will mark it unknown');
        return undefined;
      }
      deps.logger.warn(fields, 'recording the outcome failed; retrying');
      await sleep(pause);
    }
  }
}
