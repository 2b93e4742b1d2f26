import type { Approval, ApprovalStage, ApprovalVote, Transaction } from '../../domain/index.ts';
import { formatAmount, formatTime, whyApproval } from '../../notify/format.ts';
import { getApproval } from '../../repositories/approvals.ts';
import { getBusiness, getMember } from '../../repositories/tenancy.ts';
import { getTransaction } from '../../repositories/transactions.ts';
import type { Deps } from '../context.ts';

/** What a Slack message or a Teams card says about one approval stage, read when it is delivered. */
export interface ApprovalSummary {
  approval: Approval;
  stage: ApprovalStage;
  transaction: Transaction;
  business: string;
  agent: string;
  amount: string;
  rule: string;
  reason: string;
  deadline: string;
  /** The stage is active and its deadline has not passed: people may still decide it. */
  open: boolean;
  /** The console's page for this approval (critical stages are decided there). */
  consoleUrl: string;
  /** The votes cast on this stage, with who cast them. */
  votes: (ApprovalVote & { who: string })[];
}

export async function approvalSummary(
  deps: Pick<Deps, 'db' | 'config' | 'clock'>,
  workspaceId: string,
  approvalId: string,
  position: number,
): Promise<ApprovalSummary | undefined> {
  const reader = deps.db.reader;
  const approval = await getApproval(reader, workspaceId, approvalId);
  const stage = approval?.stages.find((s) => s.position === position);
  if (!approval || !stage) return undefined;
  const transaction = await getTransaction(reader, workspaceId, approval.transactionId);
  if (!transaction) return undefined;
  const business = transaction.businessId ? await getBusiness(reader, transaction.businessId) : undefined;
  const why = whyApproval(transaction);
  const votes = await Promise.all(
    approval.votes
      .filter((v) => v.position === position)
      .map(async (v) => ({
        ...v,
        who: (await getMember(reader, workspaceId, v.memberId))?.email ?? v.memberId,
      })),
  );
  const now = deps.clock();
  return {
    approval,
    stage,
    transaction,
    business: business
      ? `${business.name} (${business.id})`
      : (transaction.businessId ?? 'none (an evaluation: the agent’s own system executes it)'),
    agent: transaction.agentId,
    amount: formatAmount(transaction.amount, transaction.currency),
    rule: why.rule,
    reason: why.reason,
    deadline: formatTime(stage.deadlineAt),
    open:
      approval.status === 'pending' &&
      stage.status === 'pending' &&
      (stage.deadlineAt === null || stage.deadlineAt > now),
    consoleUrl: `${deps.config.publicBaseUrl}/console/approvals/${approval.id}`,
    votes,
  };
}

/** One line saying where the stage stands: waiting, or how it ended. */
export function stageOutcome(s: ApprovalSummary): string {
  const { approval, stage } = s;
  if (s.open) {
    const got = s.votes.filter((v) => v.decision === 'approve').length;
    return stage.quorum > 1 ? `Waiting: ${got} of ${stage.quorum} approvals` : 'Waiting for a decision';
  }
  if (approval.status === 'approved') return 'Approved';
  if (approval.status === 'rejected') return 'Rejected';
  if (approval.status === 'expired') return 'Expired: nobody decided before the deadline';
  if (stage.status === 'approved') return 'Stage approved; the next stage is waiting';
  if (stage.status === 'escalated') return 'Escalated to the next stage after its deadline';
  return `Closed (${stage.status})`;
}

/** "Stage 1 of 2 · approver · 2 approvals needed" */
export function stageLine(s: ApprovalSummary): string {
  const { stage, approval } = s;
  return [
    `Stage ${stage.position + 1} of ${approval.stages.length}`,
    stage.role,
    ...(stage.tier === 'critical_otp' ? ['critical: one-time code in the console'] : []),
    ...(stage.quorum > 1 ? [`${stage.quorum} approvals needed`] : []),
  ].join(' · ');
}
