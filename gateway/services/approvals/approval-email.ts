import { z } from 'zod';
import type { OutboxItem } from '../../domain/index.ts';
import { PermanentDeliveryError } from '../../notify/delivery.ts';
import { formatAmount, formatTime, whyApproval } from '../../notify/format.ts';
import type { Mailer, MailMessage } from '../../notify/mailer.ts';
import { getApproval } from '../../repositories/approvals.ts';
import { getBusiness, getMember } from '../../repositories/tenancy.ts';
import { getTransaction } from '../../repositories/transactions.ts';
import type { Deps } from '../context.ts';
import { issueLink } from './links.ts';

/** The outbox payload `emit()` writes for each member holding the active stage's role. */
const approvalRequired = z.object({
  template: z.literal('approval.required'),
  memberId: z.string(),
  email: z.string(),
  approvalId: z.string(),
  transactionId: z.string(),
  stage: z.object({
    position: z.number().int(),
    index: z.number().int(),
    role: z.string(),
    tier: z.enum(['standard', 'critical_otp']),
    deadlineAt: z.string().nullable(),
  }),
});

export type ApprovalRequiredPayload = z.infer<typeof approvalRequired>;

/**
 * Delivers `email` outbox items. For `approval.required` the member's personal magic link is made
 * now, at delivery, so a message that is never sent leaves no live link behind; a stage that is no
 * longer active (decided, escalated, expired) by then is skipped, as its link would be dead.
 */
export function emailSender({ deps, mailer }: { deps: Deps; mailer: Mailer }) {
  return async function deliverEmail(item: OutboxItem): Promise<void> {
    const parsed = approvalRequired.safeParse(item.payload);
    if (!parsed.success) {
      throw new PermanentDeliveryError(`Unknown email template ${String(item.payload.template)}.`);
    }
    const message = await approvalRequiredMessage(deps, item.workspaceId, parsed.data);
    if (message) await mailer.send(message);
  };
}

async function approvalRequiredMessage(
  deps: Deps,
  workspaceId: string | null,
  payload: ApprovalRequiredPayload,
): Promise<MailMessage | undefined> {
  if (!workspaceId) throw new PermanentDeliveryError('The email has no workspace.');
  const reader = deps.db.reader;
  const approval = await getApproval(reader, workspaceId, payload.approvalId);
  const stage = approval?.stages.find((s) => s.position === payload.stage.position);
  const now = deps.clock();
  if (approval?.status !== 'pending' || stage?.status !== 'pending') {
    deps.logger.info(
      { approvalId: payload.approvalId, position: payload.stage.position },
      'approval email skipped: the stage is no longer waiting',
    );
    return undefined;
  }
  const deadline = stage.deadlineAt ?? now;
  if (deadline <= now) return undefined;
  const member = await getMember(reader, workspaceId, payload.memberId);
  if (!member || member.role !== stage.role) return undefined;
  const transaction = await getTransaction(reader, workspaceId, approval.transactionId);
  if (!transaction) throw new PermanentDeliveryError(`No transaction ${approval.transactionId}.`);
  const business = transaction.businessId ? await getBusiness(reader, transaction.businessId) : undefined;
  const { url } = await issueLink({
    deps,
    workspaceId,
    approvalId: approval.id,
    position: stage.position,
    memberId: member.id,
    expiresAt: deadline,
  });
  const why = whyApproval(transaction);
  const amount = formatAmount(transaction.amount, transaction.currency);
  // An evaluation names no business: the agent's own system executes what is approved (DESIGN §5).
  const businessName = business
    ? `${business.name} (${business.id})`
    : (transaction.businessId ?? 'none (an evaluation: the agent’s own system executes it)');
  const where = transaction.businessId ? ` at ${business?.name ?? transaction.businessId}` : ' (evaluation)';
  const stageLine = `Stage ${stage.position + 1} of ${approval.stages.length} (${stage.role}${
    stage.tier === 'critical_otp' ? ', needs a one-time code sent by email' : ''
  }${stage.quorum > 1 ? `, ${stage.quorum} approvals needed` : ''})`;
  return {
    to: member.email,
    subject: `Approval needed: ${amount}${where}`,
    text: [
      `Agent ${transaction.agentId} wants to execute a request that needs your approval.`,
      '',
      `Business: ${businessName}`,
      `Agent:    ${transaction.agentId}`,
      `Amount:   ${amount}`,
      `Rule:     ${why.rule}`,
      `Reason:   ${why.reason}`,
      `Stage:    ${stageLine}`,
      `Deadline: ${formatTime(deadline)} (on timeout: ${stage.onTimeout === 'reject' ? 'rejected' : 'escalated to the next stage'})`,
      '',
      'Review the full request and approve or reject it here (this link is personal; do not forward it):',
      url,
      '',
      `Approval ${approval.id}, transaction ${transaction.id}.`,
    ].join('\n'),
  };
}
