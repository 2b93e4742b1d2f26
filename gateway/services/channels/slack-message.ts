import { type ApprovalSummary, stageLine, stageOutcome } from './summary.ts';

/** A Block Kit block; Slack's own types accept any `{type}` object as a block. */
export type SlackBlock = { type: string } & Record<string, unknown>;

/** The action ids of the two buttons; their value is `<approval id>:<stage position>`. */
export const SLACK_ACTIONS = { approve: 'warden_approve', reject: 'warden_reject' } as const;

/** Slack's mrkdwn reserves &, < and > (Slack: "Escaping text"); text from requests is escaped. */
export const slackEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: cut(text, 2000) });
const plain = (text: string) => ({ type: 'plain_text', text: cut(text, 150), emoji: true });

/**
 * The approval message (Block Kit): the summary approvers need (business, agent, amount, rule and
 * reason, deadline), then, while the stage is open, Approve and Reject buttons, or for a critical
 * stage only a link to the console (its one-time code is not asked for in Slack). Once decided, the
 * same message shows who voted and the outcome, without buttons.
 */
export function slackApprovalMessage(s: ApprovalSummary): { text: string; blocks: SlackBlock[] } {
  const where = s.transaction.businessId ? ` at ${s.business}` : ' (evaluation)';
  const title = `Approval needed: ${s.amount}${where}`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: plain(title) },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Business*\n${slackEscape(s.business)}`),
        mrkdwn(`*Agent*\n${slackEscape(s.agent)}`),
        mrkdwn(`*Amount*\n${slackEscape(s.amount)}`),
        mrkdwn(`*Rule*\n${slackEscape(s.rule)}`),
        mrkdwn(`*Reason*\n${slackEscape(s.reason)}`),
        mrkdwn(`*Deadline*\n${slackEscape(s.deadline)}`),
      ],
    },
    { type: 'context', elements: [mrkdwn(slackEscape(stageLine(s)))] },
  ];
  if (s.votes.length > 0) {
    const lines = s.votes.map(
      (v) => `${v.decision === 'approve' ? 'Approved' : 'Rejected'} by ${slackEscape(v.who)} (${v.via})`,
    );
    blocks.push({ type: 'section', block_id: 'warden_votes', text: mrkdwn(lines.join('\n')) });
  }
  const link = {
    type: 'button',
    action_id: 'warden_open',
    text: plain('Open in the console'),
    url: s.consoleUrl,
  };
  const value = `${s.approval.id}:${s.stage.position}`;
  if (s.open && s.stage.tier === 'critical_otp') {
    blocks.push({
      type: 'section',
      text: mrkdwn('This stage needs a one-time code: approve or reject it in the console.'),
    });
    blocks.push({ type: 'actions', block_id: 'warden_decision', elements: [link] });
  } else if (s.open) {
    blocks.push({
      type: 'actions',
      block_id: 'warden_decision',
      elements: [
        { type: 'button', action_id: SLACK_ACTIONS.approve, style: 'primary', text: plain('Approve'), value },
        {
          type: 'button',
          action_id: SLACK_ACTIONS.reject,
          style: 'danger',
          text: plain('Reject'),
          value,
          confirm: {
            title: plain('Reject this request?'),
            text: plain('One rejection rejects the whole request.'),
            confirm: plain('Reject'),
            deny: plain('Cancel'),
          },
        },
        link,
      ],
    });
  }
  const outcome = stageOutcome(s);
  blocks.push({ type: 'section', block_id: 'warden_outcome', text: mrkdwn(`*${slackEscape(outcome)}*`) });
  return { text: `${title}: ${outcome}`, blocks };
}
