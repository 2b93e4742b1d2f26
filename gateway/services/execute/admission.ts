import type { Decision } from '../../../policy/index.ts';
import type { Conn } from '../../db/types.ts';
import {
  type GatewayError,
  type IdempotencyRecord,
  type Role,
  type StagePlan,
  type StoredResponse,
  storedError,
  type Transaction,
  type TransactionStatus,
} from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { insertApproval } from '../../repositories/approvals.ts';
import {
  answerIdempotency,
  claimIdempotency,
  consumeToken,
  findIdempotency,
  type IdempotencyClaim,
  releaseIdempotency,
  type TokenClaim,
} from '../../repositories/tokens.ts';
import {
  approve,
  endParked,
  getTransactionById,
  insertTransaction,
  readmit,
  reserveSpend,
  settleSpend,
} from '../../repositories/transactions.ts';
import { inSpan } from '../../tracing/index.ts';
import type { StepContext } from '../context.ts';
import { emit, notifyStage } from '../notifications/index.ts';
import { type DecisionInput, decideWith } from '../policy/index.ts';
import { parkedAnswer, queuedAnswer, rejection } from './answers.ts';

/** What is admitted: a new execute, a queued one whose window opened, or one its approvers approved. */
export type AdmitSubject =
  | { kind: 'new'; transaction: Transaction; token?: TokenClaim; idempotency?: IdempotencyClaim }
  | { kind: 'queued'; transaction: Transaction }
  | { kind: 'approved'; transaction: Transaction };

export interface AdmitInput {
  subject: AdmitSubject;
  /** The policy decides a new or a released execute; without one it goes through. */
  decision?: DecisionInput;
  now: number;
}

export type Admission =
  | { outcome: 'forward'; transaction: Transaction }
  | { outcome: 'approval' | 'queue'; transaction: Transaction; answer: StoredResponse }
  | { outcome: 'reject'; transaction: Transaction; refusal: GatewayError }
  /** Another request consumed the token first (it is single-use). */
  | { outcome: 'token_taken' }
  /** Another request holds the Idempotency-Key: its record says what to answer. */
  | { outcome: 'key_taken'; record: IdempotencyRecord | undefined }
  /** An existing subject was no longer queued or parked: another process admitted it first. */
  | { outcome: 'gone' };

/**
 * What a decision span says (issue 24): the outcome, the deciding rule, the rules that matched
 * (`default_action:…` when none did), and the controls whose check failed (`spending_limit:daily` …).
 */
function decisionAttributes(d: Decision) {
  return {
    'warden.decision.outcome': d.outcome,
    ...(d.ruleId ? { 'warden.decision.rule_id': d.ruleId } : {}),
    'warden.decision.rules_matched': d.checks.filter((c) => c.control === 'rule').map((c) => c.id ?? ''),
    'warden.decision.checks_failed': d.checks
      .filter((c) => c.control !== 'rule' && c.result === 'fail')
      .map((c) => (c.id ? `${c.control}:${c.id}` : c.control)),
  };
}

const STATUS: Record<Decision['outcome'], TransactionStatus> = {
  auto_approve: 'pending',
  approval: 'pending_approval',
  queue: 'queued',
  reject: 'rejected',
};

/**
 * Admission, in one place and in one transaction, whoever calls it (DESIGN §4, §6): the execute
 * route, the queued-release job and the last approval. Call it inside `db.transaction` with the
 * workspace scope: the decision reads shared state (spend, history), then the step reserves.
 */
export async function admit(
  tx: Conn,
  ctx: StepContext<'subscriptions'>,
  input: AdmitInput,
): Promise<Admission> {
  const { subject, now } = input;
  let txn = subject.transaction;
  if (subject.kind === 'queued') {
    // Read again under the workspace scope: another process may have released it since.
    const fresh = await getTransactionById(tx, txn.id);
    if (fresh?.status !== 'queued' || (fresh.releaseAt ?? 0) > now) return { outcome: 'gone' };
    txn = fresh;
  }

  // 1. The Idempotency-Key, claimed first: a racing duplicate waits here for this one to commit.
  if (subject.kind === 'new' && subject.idempotency) {
    const claim = subject.idempotency;
    if (!(await claimIdempotency(tx, claim, txn.id, now))) {
      return { outcome: 'key_taken', record: await findIdempotency(tx, claim.agentKeyId, claim.key) };
    }
  }

  // 2. The decision, with live spend (a released request's own reservation left out). An approved
  // request was decided when it was parked.
  const decisionInput = input.decision;
  const decided =
    subject.kind === 'approved' || !decisionInput
      ? null
      : await inSpan(
          ctx.trace,
          'warden.decision',
          () => ({
            'warden.policy.name': decisionInput.policy.name,
            'warden.policy.version': decisionInput.policy.version,
          }),
          async (_trace, span) => {
            const d = await decideWith(tx, decisionInput, subject.kind === 'queued' ? txn : undefined);
            if (span?.isRecording()) span.setAttributes(decisionAttributes(d));
            return d;
          },
        );
  // An evaluation is answered now (DESIGN §5): a time window that would queue it refuses it instead.
  const decision = decided && txn.operation === 'evaluate' ? notQueued(decided) : decided;
  const outcome = decision?.outcome ?? 'auto_approve';

  // 3. A refusal is recorded; nothing is reserved and the token is left unconsumed.
  if (decision && outcome === 'reject') {
    const refusal = rejection(decision, txn.id);
    // A new request refused was never admitted: no evaluation cost is snapshotted (issue 14).
    const costMicros = subject.kind === 'new' ? null : txn.costMicros;
    let rejected: Transaction = { ...txn, status: 'rejected', decision, costMicros, updatedAt: now };
    if (subject.kind === 'new') {
      // Nothing reserved: what the next admission of a locked batch reads does not change (with an
      // Idempotency-Key it waits for the stored refusal, which a duplicate in the batch replays).
      const written = insertTransaction(tx, { ...rejected, spendState: 'none' });
      if (!txn.idempotencyKey) tx.handOff?.();
      await written;
    } else {
      const ended = await endParked(tx, txn.id, 'rejected', now, decision);
      if (!ended) return { outcome: 'gone' };
      await settleSpend(tx, ended);
      rejected = { ...rejected, spendState: ended.spendState };
      await emit(tx, ctx, {
        workspaceId: txn.workspaceId,
        type: 'transaction.completed',
        data: { transactionId: txn.id, status: 'rejected' },
        at: now,
      });
    }
    if (txn.idempotencyKey)
      await answerIdempotency(tx, txn.agentKeyId, txn.idempotencyKey, storedError(refusal));
    return { outcome: 'reject', transaction: rejected, refusal };
  }

  // 4. The confirmation token, consumed exactly once, at the moment of admission.
  if (subject.kind === 'new' && subject.token && !(await consumeToken(tx, subject.token))) {
    if (subject.idempotency) await releaseIdempotency(tx, subject.idempotency, txn.id);
    return { outcome: 'token_taken' };
  }

  // 5. Recorded with its new status; a new execute with an amount reserves it (DESIGN §6: every
  // execute of the workspace counts, governed by a policy or not).
  const approvalId = outcome === 'approval' ? newId('approval') : null;
  const releaseAt = outcome === 'queue' ? Date.parse(decision?.releaseAt ?? '') : null;
  const admitted: Transaction = {
    ...txn,
    // An evaluation allowed is `approved`: its caller executes it and reports with a receipt.
    status: outcome === 'auto_approve' && txn.operation === 'evaluate' ? 'approved' : STATUS[outcome],
    decision: decision ?? txn.decision,
    releaseAt,
    approvalId: approvalId ?? txn.approvalId,
    updatedAt: now,
  };
  if (subject.kind === 'new') {
    admitted.spendState = txn.amount !== null ? 'pending' : 'none';
    // Independent statements, sent together (pipelined on PostgreSQL). Once they are sent, the next
    // admission of a batch under the workspace's lock may read: its reads run after these writes.
    // A parked request with an Idempotency-Key first stores its 202 below, which a duplicate in the
    // same batch then replays, as it did when each job waited for the one before.
    const written = Promise.all([
      insertTransaction(tx, admitted),
      admitted.spendState === 'pending' ? reserveSpend(tx, admitted) : undefined,
    ]);
    if (outcome === 'auto_approve' || !txn.idempotencyKey) tx.handOff?.();
    await written;
  } else if (subject.kind === 'queued') {
    if (!(await readmit(tx, admitted, 'queued'))) return { outcome: 'gone' };
  } else if (!(await approve(tx, txn.id, txn.requestHash, now))) {
    return { outcome: 'gone' };
  }
  if (outcome === 'auto_approve') return { outcome: 'forward', transaction: admitted };

  // 6. Parked: people are asked (the approval, its first stage's notices), or the window waits.
  let answer: StoredResponse;
  if (approvalId !== null && decision) {
    const stages = stagePlans(decision);
    const approval = {
      id: approvalId,
      workspaceId: txn.workspaceId,
      transactionId: txn.id,
      requestHash: txn.requestHash,
    };
    await insertApproval(tx, approval, stages, now);
    const first = stages[0];
    if (first) {
      const deadlineAt = now + first.timeoutSeconds * 1000;
      await notifyStage(tx, ctx, { approval, stage: { ...first, position: 0, deadlineAt }, at: now });
    }
    answer = parkedAnswer(decision, txn.id, approvalId, now);
  } else {
    answer = queuedAnswer(txn.id, releaseAt ?? now);
  }
  // 7. A parked request's first answer is its 202: a replay returns it.
  if (txn.idempotencyKey) await answerIdempotency(tx, txn.agentKeyId, txn.idempotencyKey, answer);
  return { outcome: outcome === 'approval' ? 'approval' : 'queue', transaction: admitted, answer };
}

function notQueued(decision: Decision): Decision {
  if (decision.outcome !== 'queue') return decision;
  return {
    ...decision,
    outcome: 'reject',
    reason: `Outside the policy's time window: evaluate again from ${decision.releaseAt}.`,
  };
}

function stagePlans(decision: Decision): StagePlan[] {
  return (decision.stages ?? []).map((stage) => ({
    index: stage.index,
    role: stage.role as Role,
    tier: stage.tier,
    quorum: stage.quorum,
    timeoutSeconds: stage.timeoutSeconds,
    onTimeout: stage.onTimeout,
  }));
}
