import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Approval, ApprovalStatus, Role, Transaction, VoteInput } from '../store/types.ts';
import type { Services } from './context.ts';
import { forwardAdmitted } from './forward.ts';
import { viewTransaction } from './transactions.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What approvers see: the stage pipeline, the votes, and exactly what they are authorising. */
export function viewApproval(approval: Approval, transaction?: Transaction) {
  return {
    id: approval.id,
    status: approval.status,
    transactionId: approval.transactionId,
    stages: approval.stages.map((s) => ({
      position: s.position,
      index: s.index,
      role: s.role,
      tier: s.tier,
      quorum: s.quorum,
      status: s.status,
      approvals: approval.votes.filter((v) => v.position === s.position && v.decision === 'approve').length,
      activatedAt: iso(s.activatedAt),
      deadlineAt: iso(s.deadlineAt),
      onTimeout: s.onTimeout,
    })),
    votes: approval.votes.map((v) => ({ ...v, createdAt: iso(v.createdAt) })),
    ...(transaction ? { transaction: viewTransaction(transaction, true) } : {}),
    createdAt: iso(approval.createdAt),
    updatedAt: iso(approval.updatedAt),
  };
}

export async function getApproval({
  ctx,
  workspaceId,
  id,
}: {
  ctx: Services;
  workspaceId: string;
  id: string;
}) {
  const approval = await ctx.store.getApproval(workspaceId, id);
  if (!approval) throw new GatewayError('NOT_FOUND', `No approval ${id}.`);
  const transaction = await ctx.store.getTransaction(workspaceId, approval.transactionId);
  return { approval, transaction };
}

/** Approvals the member's role can act on now (status pending), or any status when asked. */
export async function listApprovals({
  ctx,
  workspaceId,
  role,
  status,
  limit,
}: {
  ctx: Services;
  workspaceId: string;
  role: Role;
  status?: ApprovalStatus;
  limit: number;
}) {
  const list = await ctx.store.listApprovals(workspaceId, {
    status,
    role: status === 'pending' ? role : undefined,
    limit,
  });
  return list.map((a) => viewApproval(a));
}

export interface DecideInput {
  workspaceId: string;
  approvalId: string;
  member: { memberId: string; role: Role };
  decision: 'approve' | 'reject';
  reason?: string;
  via: 'api' | 'link';
  position?: number;
  otpVerified: boolean;
}

/**
 * One person's decision (DESIGN §5, §6): recorded in one serialised step; when the last stage
 * approves, the stored request is executed at its business, at most once, and its outcome recorded.
 */
export async function decideApproval({ ctx, input }: { ctx: Services; input: DecideInput }) {
  const now = ctx.clock();
  const vote: VoteInput = {
    workspaceId: input.workspaceId,
    approvalId: input.approvalId,
    memberId: input.member.memberId,
    role: input.member.role,
    decision: input.decision,
    reason: input.reason,
    via: input.via,
    position: input.position,
    otpVerified: input.otpVerified,
    now,
    // The vote and its audit event commit together (DESIGN §9).
    auditId: newId('audit'),
  };
  const result = await ctx.store.voteOnApproval(vote);
  switch (result.outcome) {
    case 'not_found':
      throw new GatewayError('NOT_FOUND', `No approval ${input.approvalId}.`);
    case 'not_pending':
      throw new GatewayError('CONFLICT', 'This request is no longer waiting for this decision.', {
        status: result.approval.status,
      });
    case 'wrong_role': {
      const stage = result.approval.stages.find((s) => s.status === 'pending');
      throw new GatewayError('FORBIDDEN', `The active stage needs the ${stage?.role} role.`);
    }
    case 'otp_required':
      throw new GatewayError(
        'FORBIDDEN',
        'This stage needs a one-time code: request one, then approve with it.',
        {
          otpRequired: true,
        },
      );
    case 'already_voted':
      throw new GatewayError('CONFLICT', 'You have already decided on this request.');
  }
  if (result.outcome === 'approved') {
    const business = await ctx.store.getBusiness(result.transaction.businessId);
    if (!business)
      throw new GatewayError('BUSINESS_NOT_FOUND', `No business ${result.transaction.businessId}.`);
    await forwardAdmitted({
      ctx,
      transaction: result.transaction,
      adapter: ctx.adapters.adapterFor(business),
    });
  }
  return getApproval({ ctx, workspaceId: input.workspaceId, id: input.approvalId });
}
