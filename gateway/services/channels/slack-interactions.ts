import { z } from 'zod';
import { GatewayError, type Role } from '../../domain/index.ts';
import { getChannel, linkedMember } from '../../repositories/channels.ts';
import { findMemberByEmail } from '../../repositories/members.ts';
import { getMember } from '../../repositories/tenancy.ts';
import { decideApproval } from '../approvals/index.ts';
import type { ServiceContext } from '../context.ts';
import { openSlackSecrets } from './connections.ts';
import { slackClient } from './slack-client.ts';
import { SLACK_ACTIONS } from './slack-message.ts';
import { verifySlackSignature } from './slack-signature.ts';

/** The part of Slack's `block_actions` payload read here (Slack: "Interaction payloads"). */
const blockActions = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1).max(64) }),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().max(200).optional() })).min(1),
});

const refused = () => new GatewayError('UNAUTHORIZED', 'The request is not signed by this Slack app.');

/**
 * POST /v1/slack/interactions/:channelId (issue 23): a click on Approve or Reject in a Slack
 * message. The request must carry this connection's Slack signature (v0, over the raw body, within
 * five minutes), else nothing is read. The Slack user is mapped to a member (an explicit link, else
 * the verified email `users.info` reports), and the decision goes through the same verb as the API,
 * the console and the emailed link: role, quorum, separation of duties and one vote per member
 * apply, so a replayed click is refused as a second vote and changes nothing.
 */
export async function handleSlackInteraction({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { channelId: string; rawBody: string; timestamp?: string; signature?: string };
}): Promise<{ outcome: 'decided' | 'ignored'; approvalId?: string; status?: string }> {
  const { deps } = ctx;
  const channel = await getChannel(deps.db.reader, input.channelId);
  if (channel?.kind !== 'slack') throw refused();
  const secrets = openSlackSecrets(deps, channel);
  const check = verifySlackSignature({
    signingSecret: secrets.signingSecret,
    rawBody: input.rawBody,
    timestamp: input.timestamp,
    signature: input.signature,
    now: deps.clock(),
  });
  if (!check.ok) {
    deps.logger.warn({ channelId: channel.id, reason: check.reason }, 'Slack interaction refused');
    throw refused();
  }
  const form = new URLSearchParams(input.rawBody);
  let parsed: z.infer<typeof blockActions>;
  try {
    const result = blockActions.safeParse(JSON.parse(form.get('payload') ?? 'null'));
    // Other interactions (a shortcut, a link button's click) are acknowledged and ignored.
    if (!result.success) return { outcome: 'ignored' };
    parsed = result.data;
  } catch {
    throw new GatewayError('VALIDATION_ERROR', 'The interaction payload is not JSON.');
  }
  const action = parsed.actions[0];
  const decision =
    action?.action_id === SLACK_ACTIONS.approve
      ? 'approve'
      : action?.action_id === SLACK_ACTIONS.reject
        ? 'reject'
        : undefined;
  const match = /^(apr_[A-Za-z0-9]+):(\d{1,3})$/.exec(action?.value ?? '');
  if (!decision || !match) return { outcome: 'ignored' };
  const [, approvalId = '', position = '0'] = match;
  const workspaceId = channel.workspaceId;
  const member = await memberFor(ctx, workspaceId, secrets.botToken, parsed.user.id);
  if (!member) {
    throw new GatewayError(
      'FORBIDDEN',
      'This Slack user is not a member of the workspace: link it in the console, or use the email Warden knows.',
    );
  }
  const memberCtx: ServiceContext = {
    deps,
    workspaceId,
    actor: { type: 'member', id: member.memberId },
    requestId: ctx.requestId,
  };
  const decided = await decideApproval({
    ctx: memberCtx,
    input: {
      approvalId,
      member,
      decision,
      via: 'slack',
      position: Number(position),
      // Critical stages are decided in the console, with their one-time code.
      otpVerified: false,
    },
  });
  return { outcome: 'decided', approvalId, status: decided.approval.status };
}

/**
 * The member acting for a Slack user: the one who linked it, else the member whose email is the
 * Slack user's, when Slack says that email is confirmed (`users.info`, scope `users:read.email`).
 */
async function memberFor(
  ctx: ServiceContext,
  workspaceId: string,
  botToken: string,
  slackUserId: string,
): Promise<{ memberId: string; role: Role } | undefined> {
  const reader = ctx.deps.db.reader;
  let memberId = await linkedMember(reader, workspaceId, slackUserId);
  if (!memberId) {
    const info = await slackClient(ctx.deps, botToken)
      .users.info({ user: slackUserId })
      .catch((error: unknown) => {
        // Slack does not know the user: nobody to map (a refusal, not an outage).
        if ((error as { data?: { error?: unknown } }).data?.error === 'user_not_found') return undefined;
        ctx.deps.logger.warn({ err: error, slackUserId }, 'Slack users.info failed');
        throw new GatewayError('PROVIDER_ERROR', 'Slack could not say who this user is; try again.');
      });
    const user = info?.user;
    const email = user?.profile?.email?.toLowerCase();
    if (!user || user.deleted || user.is_bot || user.is_email_confirmed !== true || !email) return undefined;
    memberId = await findMemberByEmail(reader, workspaceId, email);
  }
  const member = memberId ? await getMember(reader, workspaceId, memberId) : undefined;
  return member ? { memberId: member.id, role: member.role } : undefined;
}
