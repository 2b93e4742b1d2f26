import { z } from 'zod';
import type { OutboxItem } from '../../domain/index.ts';
import { PermanentDeliveryError } from '../../notify/delivery.ts';
import {
  channelMessages,
  getChannel,
  insertChannelMessage,
  slackUsersWithRole,
} from '../../repositories/channels.ts';
import type { Deps } from '../context.ts';
import { openSlackSecrets, type SlackRoutes } from './connections.ts';
import { slackClient } from './slack-client.ts';
import { slackApprovalMessage } from './slack-message.ts';
import { approvalSummary } from './summary.ts';

const payload = z.object({
  action: z.enum(['post', 'update']),
  approvalId: z.string(),
  position: z.number().int(),
});

/** Slack errors no retry can mend (Slack's documented error strings). */
const PERMANENT = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'message_not_found']);

/**
 * Delivers `slack` outbox items (issue 23). `post`: the approval message, into the conversation the
 * stage's role is routed to, or as a direct message to each member holding the role who linked a
 * Slack user; a stage no longer open by then is not posted. `update`: every message posted for that
 * stage is rewritten to show the votes and the outcome. A failed Slack call throws, and the outbox
 * retries it; the approval itself never waits for Slack.
 */
export function slackSender({ deps }: { deps: Deps }) {
  return async function deliverSlack(item: OutboxItem): Promise<void> {
    const parsed = payload.safeParse(item.payload);
    if (!parsed.success || !item.workspaceId || !item.targetId) {
      throw new PermanentDeliveryError('The Slack delivery names no approval.');
    }
    const workspaceId = item.workspaceId;
    const { action, approvalId, position } = parsed.data;
    const channel = await getChannel(deps.db.reader, item.targetId);
    if (channel?.kind !== 'slack' || channel.workspaceId !== workspaceId) {
      throw new PermanentDeliveryError('The Slack connection was removed.');
    }
    const summary = await approvalSummary(deps, workspaceId, approvalId, position);
    if (!summary) throw new PermanentDeliveryError(`No approval ${approvalId} stage ${position}.`);
    const client = slackClient(deps, openSlackSecrets(deps, channel).botToken);
    const message = slackApprovalMessage(summary);
    try {
      if (action === 'update') {
        for (const m of await channelMessages(deps.db.reader, approvalId, position)) {
          await client.chat.update({
            channel: m.channel,
            ts: m.ts,
            text: message.text,
            blocks: message.blocks,
          });
        }
        return;
      }
      if (!summary.open) return;
      const route = ((channel.settings.routes ?? {}) as SlackRoutes)[summary.stage.role];
      if (!route) return;
      const targets =
        route === 'dm' ? await slackUsersWithRole(deps.db.reader, workspaceId, summary.stage.role) : [route];
      const posted = new Set(
        (await channelMessages(deps.db.reader, approvalId, position)).map((m) => m.channel),
      );
      for (const target of targets) {
        if (posted.has(target)) continue;
        const res = await client.chat.postMessage({
          channel: target,
          text: message.text,
          blocks: message.blocks,
        });
        if (!res.ts) throw new Error('Slack answered chat.postMessage without a message ts.');
        const at = deps.clock();
        await deps.db.transaction({ workspaceId }, (tx) =>
          insertChannelMessage(tx, {
            workspaceId,
            approvalId,
            position,
            channel: res.channel ?? target,
            ts: res.ts as string,
            createdAt: at,
          }),
        );
      }
    } catch (error) {
      const code = (error as { data?: { error?: unknown } }).data?.error;
      if (typeof code === 'string' && PERMANENT.has(code)) {
        throw new PermanentDeliveryError(`Slack refused the message: ${code}`);
      }
      throw error;
    }
  };
}
