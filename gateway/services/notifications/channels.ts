import type { Conn } from '../../db/types.ts';
import { newId } from '../../ids.ts';
import { listChannels } from '../../repositories/channels.ts';
import { insertOutbox } from '../../repositories/outbox.ts';

/**
 * Issue 23: approval messages for the workspace's Slack and Teams connections, written into the
 * outbox in the caller's transaction like every other delivery (retried, visible on the console's
 * webhooks page). What a message says is read at delivery, so it shows the approval as it is then.
 */
export async function queueChannelPosts(
  tx: Conn,
  input: { workspaceId: string; approvalId: string; position: number; at: number },
): Promise<void> {
  const { workspaceId, approvalId, position, at } = input;
  for (const channel of await listChannels(tx, workspaceId)) {
    await insertOutbox(tx, {
      id: newId('outbox'),
      workspaceId,
      kind: channel.kind,
      targetId: channel.id,
      payload: { action: 'post', approvalId, position },
      at,
    });
  }
}

/**
 * A vote was cast or a stage ended (decided here, in the console, by email, or by its deadline):
 * the Slack messages of that stage are updated to show who decided and the outcome. Teams' incoming
 * webhooks cannot edit a card they posted, so only Slack is told.
 */
export async function queueChannelUpdates(
  tx: Conn,
  input: { workspaceId: string; approvalId: string; position: number; at: number },
): Promise<void> {
  const { workspaceId, approvalId, position, at } = input;
  for (const channel of await listChannels(tx, workspaceId)) {
    if (channel.kind !== 'slack') continue;
    await insertOutbox(tx, {
      id: newId('outbox'),
      workspaceId,
      kind: 'slack',
      targetId: channel.id,
      payload: { action: 'update', approvalId, position },
      at,
    });
  }
}
