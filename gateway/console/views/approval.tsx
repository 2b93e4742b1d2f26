import type { FC } from 'hono/jsx';
import type { Approval, ApprovalStage } from '../../domain/index.ts';
import { Time } from './time.tsx';

/** Views of an approval shared by the console's pages and the emailed approval page. */

const STAGE_STATE: Record<ApprovalStage['status'], string> = {
  waiting: 'waiting',
  pending: 'active: waiting for a decision',
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired',
  escalated: 'timed out, escalated',
};

/** The stage pipeline: each stage, its state and its quorum. */
export const Stages: FC<{ approval: Approval }> = ({ approval }) => (
  <ol class="stages">
    {approval.stages.map((s) => {
      const approvals = approval.votes.filter((v) => v.position === s.position && v.decision === 'approve');
      return (
        <li class={s.status}>
          Stage {s.position + 1}: {s.role}
          {s.tier === 'critical_otp' ? ' (critical, one-time code)' : ''} ·{' '}
          <span class="state">{STAGE_STATE[s.status]}</span> · {approvals.length}/{s.quorum} approval
          {s.quorum === 1 ? '' : 's'}
          {s.deadlineAt !== null && s.status === 'pending' ? (
            <>
              {' '}
              · deadline <Time at={s.deadlineAt} />
            </>
          ) : null}
        </li>
      );
    })}
  </ol>
);

/**
 * The fields of a decision form (the emailed page and the console share them): the one-time code
 * when the stage is critical, an optional reason, and the two buttons that name the decision.
 */
export const DecisionFields = ({ critical }: { critical: boolean }) => (
  <>
    {critical ? (
      <>
        <label for="otp">One-time code (needed to approve)</label>
        <input
          type="text"
          id="otp"
          name="otp"
          inputmode="numeric"
          autocomplete="one-time-code"
          maxlength={6}
        />
      </>
    ) : null}
    <label for="reason">Reason (optional)</label>
    <textarea id="reason" name="reason" rows={3} maxlength={1000} />
    <div class="actions">
      <button type="submit" name="decision" value="approve" class="approve">
        Approve
      </button>
      <button type="submit" name="decision" value="reject" class="reject">
        Reject
      </button>
    </div>
  </>
);
