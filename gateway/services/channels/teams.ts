import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { checkOutboundUrl } from '../../../adapters/egress.ts';
import type { OutboxItem } from '../../domain/index.ts';
import { PermanentDeliveryError } from '../../notify/delivery.ts';
import { postJson } from '../../notify/webhook.ts';
import { getChannel } from '../../repositories/channels.ts';
import type { Deps } from '../context.ts';
import { openTeamsWebhook } from './connections.ts';
import { type ApprovalSummary, approvalSummary, stageLine, stageOutcome } from './summary.ts';

const payload = z.object({ action: z.literal('post'), approvalId: z.string(), position: z.number().int() });

/**
 * The Teams message: an Adaptive Card (schema 1.4, what Teams renders) in the envelope a Workflows
 * "When a Teams webhook request is received" flow posts to a channel. It carries the summary and a
 * link to the console's approval page: an incoming webhook cannot send a signed action back, so the
 * decision is made in the console (or the emailed link), never from the card.
 */
export function teamsApprovalCard(s: ApprovalSummary) {
  const where = s.transaction.businessId ? ` at ${s.business}` : ' (evaluation)';
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: `Approval needed: ${s.amount}${where}`,
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
            },
            {
              type: 'FactSet',
              facts: [
                { title: 'Business', value: s.business },
                { title: 'Agent', value: s.agent },
                { title: 'Amount', value: s.amount },
                { title: 'Rule', value: s.rule },
                { title: 'Reason', value: s.reason },
                { title: 'Deadline', value: s.deadline },
              ],
            },
            { type: 'TextBlock', text: stageLine(s), isSubtle: true, wrap: true },
            { type: 'TextBlock', text: stageOutcome(s), wrap: true },
          ],
          actions: [{ type: 'Action.OpenUrl', title: 'Review and decide in Warden', url: s.consoleUrl }],
        },
      },
    ],
  };
}

/**
 * Delivers `teams` outbox items (issue 23): the card for a stage that just opened, posted to the
 * workspace's Workflows webhook through the egress-checked dispatcher. A stage no longer open by
 * then is not posted; a failed POST is retried by the outbox.
 */
export function teamsSender({ deps, dispatcher }: { deps: Deps; dispatcher: Dispatcher }) {
  return async function deliverTeams(item: OutboxItem): Promise<void> {
    const parsed = payload.safeParse(item.payload);
    if (!parsed.success || !item.workspaceId || !item.targetId) {
      throw new PermanentDeliveryError('The Teams delivery names no approval.');
    }
    const channel = await getChannel(deps.db.reader, item.targetId);
    if (channel?.kind !== 'teams' || channel.workspaceId !== item.workspaceId) {
      throw new PermanentDeliveryError('The Teams connection was removed.');
    }
    const { approvalId, position } = parsed.data;
    const summary = await approvalSummary(deps, item.workspaceId, approvalId, position);
    if (!summary) throw new PermanentDeliveryError(`No approval ${approvalId} stage ${position}.`);
    if (!summary.open) return;
    const url = openTeamsWebhook(deps, channel);
    const check = checkOutboundUrl(url, { allowPrivate: deps.config.egressAllowPrivate });
    if (!check.ok) throw new PermanentDeliveryError(check.reason);
    await postJson(dispatcher, { url, payload: teamsApprovalCard(summary) });
  };
}
