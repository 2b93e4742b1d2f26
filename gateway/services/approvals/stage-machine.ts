import type { Conn } from '../../db/types.ts';
import type { Approval, ApprovalStage, AuditEvent, DueStage, Role, Transaction } from '../../domain/index.ts';
import {
  activateStage,
  expireStage,
  getApproval,
  getApprovalById,
  insertVote,
  setApprovalStatus,
  setStageStatus,
} from '../../repositories/approvals.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { endParked, getTransactionById, settleSpend } from '../../repositories/transactions.ts';
import type { StepContext } from '../context.ts';
import { admissionStep } from '../execute/index.ts';
import { emit, notifyStage, queueCallback, queueChannelUpdates } from '../notifications/index.ts';

/**
 * The approval stage machine (DESIGN §6): ordered stages, each approved by `quorum` distinct people
 * with its role, one rejection rejects, nobody approves two stages, deadlines reject or escalate.
 * Every step runs in one transaction under the workspace scope, its audit event included.
 */

export interface VoteInput {
  workspaceId: string;
  approvalId: string;
  memberId: string;
  role: Role;
  decision: 'approve' | 'reject';
  reason?: string;
  via: 'api' | 'link' | 'console' | 'slack';
  /** The stage this vote is for (a magic link names one); the active stage when left out. */
  position?: number;
  /** Critical-tier stages need a verified one-time code. */
  otpVerified: boolean;
  now: number;
  audit: Omit<AuditEvent, 'action' | 'data'>;
}

export type VoteResult =
  | { outcome: 'not_found' }
  | { outcome: 'not_pending' | 'wrong_role' | 'otp_required' | 'already_voted'; approval: Approval }
  | { outcome: 'recorded' | 'advanced' | 'rejected'; approval: Approval }
  /** The last stage approved and the request admitted: execute `transaction` now. */
  | { outcome: 'approved'; approval: Approval; transaction: Transaction };

export async function vote(tx: Conn, ctx: StepContext, input: VoteInput): Promise<VoteResult> {
  const result = await castVote(tx, ctx, input);
  if (
    result.outcome === 'recorded' ||
    result.outcome === 'advanced' ||
    result.outcome === 'rejected' ||
    result.outcome === 'approved'
  ) {
    await appendAudit(tx, {
      ...input.audit,
      action: input.decision === 'approve' ? 'approval.approved' : 'approval.rejected',
      data: { outcome: result.outcome, via: input.via, ...(input.reason ? { reason: input.reason } : {}) },
    });
  }
  return result;
}

async function castVote(tx: Conn, ctx: StepContext, input: VoteInput): Promise<VoteResult> {
  const approval = await getApproval(tx, input.workspaceId, input.approvalId);
  if (!approval) return { outcome: 'not_found' };
  const stage = approval.stages.find((s) => s.status === 'pending');
  if (approval.status !== 'pending' || !stage) return { outcome: 'not_pending', approval };
  // A deadline that passed is the deadline's outcome, even if its job has not fired yet.
  if (stage.deadlineAt !== null && stage.deadlineAt <= input.now) return { outcome: 'not_pending', approval };
  if (input.position !== undefined && input.position !== stage.position)
    return { outcome: 'not_pending', approval };
  if (stage.role !== input.role) return { outcome: 'wrong_role', approval };
  if (input.decision === 'approve' && stage.tier === 'critical_otp' && !input.otpVerified) {
    return { outcome: 'otp_required', approval };
  }
  const now = input.now;
  const cast = await insertVote(tx, approval.id, {
    memberId: input.memberId,
    position: stage.position,
    decision: input.decision,
    reason: input.reason ?? null,
    via: input.via,
    createdAt: now,
  });
  if (!cast) return { outcome: 'already_voted', approval };
  // Issue 23: the stage's Slack messages show this vote (and the outcome, when it ends the stage).
  await queueChannelUpdates(tx, {
    workspaceId: approval.workspaceId,
    approvalId: approval.id,
    position: stage.position,
    at: now,
  });

  if (input.decision === 'reject') {
    await setStageStatus(tx, approval.id, stage.position, 'rejected', now);
    await endApproval(tx, ctx, approval, 'rejected', now);
    return { outcome: 'rejected', approval: await reload(tx, approval) };
  }
  const approvals =
    approval.votes.filter((v) => v.position === stage.position && v.decision === 'approve').length + 1;
  if (approvals < stage.quorum) return { outcome: 'recorded', approval: await reload(tx, approval) };

  await setStageStatus(tx, approval.id, stage.position, 'approved', now);
  const next = approval.stages.find((s) => s.position === stage.position + 1);
  if (next) {
    await activate(tx, ctx, approval, next, now);
    return { outcome: 'advanced', approval: await reload(tx, approval) };
  }
  await setApprovalStatus(tx, approval.id, 'approved', now);
  await emit(tx, ctx, {
    workspaceId: approval.workspaceId,
    type: 'approval.decided',
    data: { approvalId: approval.id, transactionId: approval.transactionId, status: 'approved' },
    at: now,
  });
  const parked = await getTransactionById(tx, approval.transactionId);
  const admission =
    parked &&
    (await admissionStep(tx, ctx, {
      subject: { kind: 'approved', transaction: { ...parked, requestHash: approval.requestHash } },
      now,
    }));
  if (admission?.outcome !== 'forward')
    return { outcome: 'not_pending', approval: await reload(tx, approval) };
  if (admission.transaction.operation === 'evaluate') {
    // The caller executes it itself (DESIGN §5): tell its webhook_url, in this transaction.
    await queueCallback(tx, ctx, {
      transaction: admission.transaction,
      type: 'terminal_outcome',
      data: { status: 'approved', approvalId: approval.id },
      at: now,
    });
  }
  return { outcome: 'approved', approval: await reload(tx, approval), transaction: admission.transaction };
}

/** Fires one stage deadline if it is still active and due (one conditional claim), audited with it. */
export async function fireDeadline(
  tx: Conn,
  ctx: StepContext,
  input: { due: DueStage; now: number; audit: Omit<AuditEvent, 'action' | 'data' | 'workspaceId'> },
): Promise<{ outcome: 'escalated' | 'expired'; approval: Approval } | undefined> {
  const { due, now, audit } = input;
  if (!(await expireStage(tx, due, now))) return undefined;
  const approval = await getApprovalById(tx, due.approvalId);
  const expired = approval?.stages.find((s) => s.position === due.position);
  if (!approval || !expired) return undefined;
  const next = approval.stages.find((s) => s.position === due.position + 1);
  let outcome: 'escalated' | 'expired';
  if (expired.onTimeout === 'escalate_next' && next) {
    await setStageStatus(tx, approval.id, due.position, 'escalated', now);
    await activate(tx, ctx, approval, next, now);
    outcome = 'escalated';
  } else {
    await endApproval(tx, ctx, approval, 'expired', now);
    outcome = 'expired';
  }
  await queueChannelUpdates(tx, {
    workspaceId: approval.workspaceId,
    approvalId: approval.id,
    position: due.position,
    at: now,
  });
  await appendAudit(tx, {
    ...audit,
    workspaceId: approval.workspaceId,
    action: outcome === 'escalated' ? 'approval.escalated' : 'approval.expired',
    data: { position: due.position },
  });
  return { outcome, approval: await reload(tx, approval) };
}

/** Ends an approval and its transaction (rejected or expired), voiding the reservation. */
async function endApproval(
  tx: Conn,
  ctx: StepContext,
  approval: Approval,
  status: 'rejected' | 'expired',
  now: number,
) {
  await setApprovalStatus(tx, approval.id, status, now);
  const ended = await endParked(tx, approval.transactionId, status, now);
  if (ended) await settleSpend(tx, ended);
  if (ended?.operation === 'evaluate') {
    const evaluation = await getTransactionById(tx, ended.id);
    if (evaluation)
      await queueCallback(tx, ctx, {
        transaction: evaluation,
        type: 'terminal_outcome',
        data: { status, approvalId: approval.id },
        at: now,
      });
  }
  const { workspaceId, id: approvalId, transactionId } = approval;
  await emit(tx, ctx, {
    workspaceId,
    type: 'approval.decided',
    data: { approvalId, transactionId, status },
    at: now,
  });
  await emit(tx, ctx, {
    workspaceId,
    type: 'transaction.completed',
    data: { transactionId, status },
    at: now,
  });
}

async function activate(tx: Conn, ctx: StepContext, approval: Approval, stage: ApprovalStage, now: number) {
  await activateStage(tx, approval.id, stage, now);
  await notifyStage(tx, ctx, {
    approval,
    stage: { ...stage, deadlineAt: now + stage.timeoutSeconds * 1000 },
    at: now,
  });
}

async function reload(tx: Conn, approval: Approval): Promise<Approval> {
  return (await getApproval(tx, approval.workspaceId, approval.id)) ?? approval;
}
