import type { Adapter } from '../../../adapters/types.ts';
import { requestCurrency } from '../../../policy/amount.ts';
import type { CompiledPolicy } from '../../../policy/index.ts';
import { type Conn, type TxScope, workspaceRows } from '../../db/types.ts';
import type { Business, Transaction } from '../../domain/index.ts';
import { inDeferredSpan, inSpan } from '../../tracing/index.ts';
import type { ServiceContext, StepContext } from '../context.ts';
import { type DecisionInput, readsSharedState } from '../policy/index.ts';
import { type Admission, type AdmitSubject, admit } from './admission.ts';
import { type ForwardOutcome, forwardAdmitted } from './forward.ts';

/** An evaluation names no business: no per-business override or category applies (limits without categories do). */
const NO_BUSINESS = { id: '', category: '' };

export interface AdmissionInput {
  subject: AdmitSubject;
  /** The policy that governs the transaction; without one it goes through. */
  policy?: CompiledPolicy;
  /** The business it goes to; none for an evaluation. */
  business?: Pick<Business, 'id' | 'category'>;
  now: number;
}

/**
 * What the policy decides from, built from the transaction itself (its request, amount, currency,
 * agent and workspace), its policy and its business: the same for a new execute, a new evaluation
 * and a queued execute released.
 */
export function decisionInputOf(
  transaction: Transaction,
  policy: CompiledPolicy,
  business: Pick<Business, 'id' | 'category'> | undefined,
  now: number,
): DecisionInput {
  return {
    policy,
    workspaceId: transaction.workspaceId,
    request: transaction.request,
    amount: transaction.amount,
    currency: transaction.currency ?? requestCurrency(transaction.request, policy.currency),
    business: business ?? NO_BUSINESS,
    agentId: transaction.agentId,
    now,
  };
}

/**
 * The admission step, whoever runs it (DESIGN §4, §6): the execute route, an evaluation, the
 * queued-release job and the last approval, each in its own transaction (an evaluation's claims its
 * Idempotency-Key and queues its callbacks; an approval's records the vote). A queued execute whose
 * business is gone is admitted without a decision, and then not forwarded.
 */
export function admissionStep(tx: Conn, ctx: StepContext<'subscriptions'>, input: AdmissionInput) {
  const { subject, policy, business, now } = input;
  const decision =
    policy && subject.kind !== 'approved' && (business || subject.transaction.operation === 'evaluate')
      ? decisionInputOf(subject.transaction, policy, business, now)
      : undefined;
  return admit(tx, ctx, { subject, decision, now });
}

/**
 * Executes what admission let through at its business (an evaluation is executed by its caller, so
 * nothing is forwarded for one); undefined when nothing was forwarded.
 */
export async function forwardAdmission({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: {
    admission: Admission;
    business: Business | undefined;
    /** Built before admitting when the caller has one (a business whose adapter cannot be built is refused first). */
    adapter?: Adapter;
  };
}): Promise<ForwardOutcome | undefined> {
  const { admission, business } = input;
  if (admission.outcome !== 'forward' || !business) return undefined;
  if (admission.transaction.operation !== 'execute') return undefined;
  return forwardAdmitted({
    ctx,
    input: {
      transaction: admission.transaction,
      adapter: input.adapter ?? ctx.deps.adapters.adapterFor(business),
    },
  });
}

/**
 * Admit-then-forward in one place: the admission step in its own transaction (under the workspace
 * scope when a policy decides: the decision reads shared state, then the step reserves), then the
 * forward of what went through. The execute route and the queued-release job call it.
 */
export async function admitAndForward({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: AdmissionInput & { business?: Business; adapter?: Adapter };
}): Promise<{ admission: Admission; forwarded: ForwardOutcome | undefined }> {
  // A decision that reads the workspace's shared state (spend, history) and then reserves runs under
  // the workspace scope (DESIGN §8). Any other new admission is single conditional statements (the
  // token taken once, the idempotency key inserted once): it waits for no other request of the
  // workspace. A queued execute is read again under the workspace scope, whatever decides it.
  const { subject, policy, business, now } = input;
  const scope: TxScope =
    subject.kind !== 'new' ||
    (policy && readsSharedState(decisionInputOf(subject.transaction, policy, business, now)))
      ? { workspaceId: subject.transaction.workspaceId }
      : workspaceRows(subject.transaction.workspaceId);
  // Issue 24: admission's span (the decision's is inside it), when the request is traced.
  const txn = subject.transaction;
  const admission = await inSpan(
    ctx.trace,
    'warden.admission',
    () => ({ 'warden.transaction.id': txn.id, 'warden.workspace.id': txn.workspaceId }),
    async (trace, span) => {
      const stepCtx = trace ? { ...ctx, trace } : ctx;
      const admitted = await ctx.deps.db.transaction(scope, (tx) => admissionStep(tx, stepCtx, input));
      if (span?.isRecording()) span.setAttribute('warden.admission.outcome', admitted.outcome);
      return admitted;
    },
  );
  const forwarded = await forwardAdmission({
    ctx,
    input: { admission, business: input.business, adapter: input.adapter },
  });
  return { admission, forwarded };
}

/**
 * Runs the deferred part of an execute (issue 24): its forward once approved, or its release from
 * the queue, in a span continuing the trace of the request that asked (`trace_context`), linked to
 * the approver's request when there is one. `fn` gets the context to do it with.
 */
export function inDeferredExecute<T>(
  ctx: ServiceContext,
  input: { transaction: Transaction; cause: 'approval' | 'queue' },
  fn: (ctx: ServiceContext) => Promise<T>,
): Promise<T> {
  const { transaction, cause } = input;
  return inDeferredSpan(
    ctx.deps.tracing,
    transaction.traceContext,
    ctx.trace,
    'warden.deferred_execute',
    () => ({
      'warden.transaction.id': transaction.id,
      'warden.workspace.id': transaction.workspaceId,
      'warden.deferred.cause': cause,
    }),
    (trace) => fn(trace ? { ...ctx, trace } : ctx),
  );
}
