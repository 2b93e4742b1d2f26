import { setImmediate as turn } from 'node:timers/promises';
import {
  type Approval,
  type ApprovalStatus,
  GatewayError,
  type Role,
  type Transaction,
} from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import {
  approvalRows,
  getApproval as findApproval,
  withStagesAndVotes,
} from '../../repositories/approvals.ts';
import { getTransaction } from '../../repositories/transactions.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { forwardAdmission, inDeferredExecute } from '../execute/index.ts';
import { viewTransaction } from '../reporting/index.ts';
import { requireBusiness } from '../tenancy/index.ts';
import { vote } from './stage-machine.ts';

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

export async function getApproval({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const { id } = input;
  const workspaceId = workspaceOf(ctx);
  const approval = await findApproval(ctx.deps.db.reader, workspaceId, id);
  if (!approval) throw new GatewayError('NOT_FOUND', `No approval ${id}.`);
  const transaction = await getTransaction(ctx.deps.db.reader, workspaceId, approval.transactionId);
  return { approval, transaction };
}

/** Approvals the member's role can act on now (status pending), or any status when asked. */
export async function listApprovals({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { role: Role; status?: ApprovalStatus; limit: number };
}) {
  const { role, status, limit } = input;
  const approvals = await readApprovals(ctx, {
    statuses: status ? [status] : undefined,
    role: status === 'pending' ? role : undefined,
    limit,
  });
  return approvals.map((a) => viewApproval(a));
}

/**
 * A page of approvals with their stages and votes, the event loop turning between the two reads
 * (issue 18: a page of 200 is a few ms of rows to convert on SQLite).
 */
async function readApprovals(
  ctx: ServiceContext,
  f: Parameters<typeof approvalRows>[2],
): Promise<Approval[]> {
  const reader = ctx.deps.db.reader;
  const rows = await approvalRows(reader, workspaceOf(ctx), f);
  await turn();
  return withStagesAndVotes(reader, rows);
}

/**
 * Whether `member` can decide `approval` now (issue 14, the console's queue): the rule the vote
 * itself applies (services/approvals/stage-machine.ts), read ahead: a pending approval, its active stage for
 * the member's role and not past its deadline, and no earlier vote of the member on it.
 */
export function canDecide(
  approval: Approval,
  member: { memberId: string; role: Role },
  now: number,
): boolean {
  if (approval.status !== 'pending') return false;
  const stage = approval.stages.find((s) => s.status === 'pending');
  if (!stage || stage.role !== member.role) return false;
  if (stage.deadlineAt !== null && stage.deadlineAt <= now) return false;
  return !approval.votes.some((v) => v.memberId === member.memberId);
}

async function decidable(ctx: ServiceContext, member: { memberId: string; role: Role }, limit: number) {
  const pending = await readApprovals(ctx, { role: member.role, limit: limit * 2 });
  const now = ctx.deps.clock();
  return pending.filter((a) => canDecide(a, member, now)).slice(0, limit);
}

/** How many approvals the member can decide now, counted up to `cap` (the console's overview). */
export async function countDecidable({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { member: { memberId: string; role: Role }; cap: number };
}): Promise<number> {
  const { member, cap } = input;
  return (await decidable(ctx, member, cap)).length;
}

/** Approvals the member can decide now, newest first, each with its transaction. */
export async function listDecidable({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { member: { memberId: string; role: Role }; limit: number };
}): Promise<{ approval: Approval; transaction: Transaction | undefined }[]> {
  const { member, limit } = input;
  return withTransactions(ctx, await decidable(ctx, member, limit));
}

/**
 * Each approval with its transaction, read in turns of 25 so a page of a hundred does not hold the
 * event loop for the whole of it (issue 18).
 */
async function withTransactions(
  ctx: ServiceContext,
  approvals: Approval[],
): Promise<{ approval: Approval; transaction: Transaction | undefined }[]> {
  const workspaceId = workspaceOf(ctx);
  const out: { approval: Approval; transaction: Transaction | undefined }[] = [];
  for (const [i, approval] of approvals.entries()) {
    if (i % 25 === 0) await turn();
    out.push({
      approval,
      transaction: await getTransaction(ctx.deps.db.reader, workspaceId, approval.transactionId),
    });
  }
  return out;
}

/** Decided approvals (approved, rejected, expired), newest first, each with its transaction. */
export async function listDecided({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number };
}): Promise<{ approval: Approval; transaction: Transaction | undefined }[]> {
  const { limit } = input;
  // Ids are time-ordered ULIDs: the newest first across the three statuses.
  const decided = await readApprovals(ctx, { statuses: ['approved', 'rejected', 'expired'], limit });
  return withTransactions(ctx, decided);
}

export interface DecideInput {
  approvalId: string;
  member: { memberId: string; role: Role };
  decision: 'approve' | 'reject';
  reason?: string;
  via: 'api' | 'link' | 'console' | 'slack';
  position?: number;
  otpVerified: boolean;
}

/**
 * One person's decision (DESIGN §5, §6): recorded in one step under the workspace scope, with its
 * audit event; when the last stage approves, the stored request is admitted and executed at its
 * business, at most once, and its outcome recorded.
 */
export async function decideApproval({ ctx, input }: { ctx: ServiceContext; input: DecideInput }) {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const now = deps.clock();
  const result = await deps.db.transaction({ workspaceId }, (tx) =>
    vote(tx, ctx, {
      workspaceId,
      approvalId: input.approvalId,
      memberId: input.member.memberId,
      role: input.member.role,
      decision: input.decision,
      reason: input.reason,
      via: input.via,
      position: input.position,
      otpVerified: input.otpVerified,
      now,
      audit: {
        id: newId('audit'),
        workspaceId,
        actorType: 'member',
        actorId: input.member.memberId,
        target: input.approvalId,
        createdAt: now,
      },
    }),
  );
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
    case 'approved': {
      // An evaluation's caller executes it itself (DESIGN §5): approved is where it ends here.
      if (result.transaction.businessId === null) break;
      const business = await requireBusiness(ctx, result.transaction.businessId);
      const { transaction } = result;
      await inDeferredExecute(ctx, { transaction, cause: 'approval' }, (ctx) =>
        forwardAdmission({ ctx, input: { admission: { outcome: 'forward', transaction }, business } }),
      );
      break;
    }
  }
  return getApproval({ ctx, input: { id: input.approvalId } });
}
