import { checkOutboundUrl } from '../../../adapters/egress.ts';
import { type Channel, type ChannelKind, GatewayError, type Role } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  linkSlackUser,
  listChannels,
  removeChannel,
  slackUsersOf,
  unlinkSlackUsers,
  upsertChannel,
} from '../../repositories/channels.ts';
import { listOutbox } from '../../repositories/outbox.ts';
import type { Deps, ServiceContext } from '../context.ts';
import { workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';
import { viewDelivery } from '../notifications/index.ts';

/** Where each stage role's approval messages go: a Slack conversation id, or `dm` (each member). */
export type SlackRoutes = Partial<Record<Role, string>>;

export interface SlackSecrets {
  botToken: string;
  signingSecret: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The Request URL to give the Slack app's Interactivity settings for this connection. */
export const slackInteractionsUrl = (deps: Pick<Deps, 'config'>, channelId: string) =>
  `${deps.config.publicBaseUrl}/v1/slack/interactions/${channelId}`;

/** A connection as listed: never its secrets (a Teams webhook URL is one). */
export function viewChannel(deps: Pick<Deps, 'config'>, c: Channel) {
  return {
    id: c.id,
    kind: c.kind,
    ...(c.kind === 'slack'
      ? {
          routes: (c.settings.routes ?? {}) as SlackRoutes,
          interactionsUrl: slackInteractionsUrl(deps, c.id),
        }
      : {}),
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

/** Opens a connection's sealed secrets. */
export function openSlackSecrets(deps: Pick<Deps, 'sealer'>, c: Channel): SlackSecrets {
  return JSON.parse(deps.sealer.open(c.secrets)) as SlackSecrets;
}

export function openTeamsWebhook(deps: Pick<Deps, 'sealer'>, c: Channel): string {
  return (JSON.parse(deps.sealer.open(c.secrets)) as { webhookUrl: string }).webhookUrl;
}

async function connect(
  ctx: ServiceContext,
  kind: ChannelKind,
  settings: Record<string, unknown>,
  secrets: Record<string, string>,
  audited: Record<string, unknown>,
) {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const at = deps.clock();
  return deps.db.transaction({ workspaceId }, async (tx) => {
    const existing = (await listChannels(tx, workspaceId)).find((c) => c.kind === kind);
    const channel: Channel = {
      id: existing?.id ?? newId('channel'),
      workspaceId,
      kind,
      settings,
      // Sealed at rest under SECRETS_KEY, like webhook and business secrets (issue 10).
      secrets: deps.sealer.seal(JSON.stringify(secrets)),
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    await upsertChannel(tx, channel);
    await appendAudit(tx, auditEvent(ctx, 'channel.connected', channel.id, { kind, ...audited }, at));
    return viewChannel(deps, channel);
  });
}

/**
 * PUT /v1/channels/slack (admins): the workspace's Slack app, its bot token and signing secret
 * (sealed), and the conversation each stage role's approvals go to. Replaces an earlier connection.
 */
export function connectSlack({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { botToken: string; signingSecret: string; routes: SlackRoutes };
}) {
  const { botToken, signingSecret, routes } = input;
  return connect(ctx, 'slack', { routes }, { botToken, signingSecret }, { routes });
}

/**
 * PUT /v1/channels/teams (admins): an incoming Workflows webhook URL (sealed: whoever holds it can
 * post to the channel). Checked against the egress rules now and again at every delivery.
 */
export function connectTeams({ ctx, input }: { ctx: ServiceContext; input: { webhookUrl: string } }) {
  const check = checkOutboundUrl(input.webhookUrl, { allowPrivate: ctx.deps.config.egressAllowPrivate });
  if (!check.ok) {
    throw new GatewayError('VALIDATION_ERROR', `The webhook URL is not allowed: ${check.reason}`, [
      { path: 'webhookUrl', message: check.reason },
    ]);
  }
  return connect(
    ctx,
    'teams',
    {},
    { webhookUrl: input.webhookUrl },
    {
      host: new URL(input.webhookUrl).host,
    },
  );
}

export async function listConnections({ ctx }: { ctx: ServiceContext }) {
  const channels = await listChannels(ctx.deps.db.reader, workspaceOf(ctx));
  return channels.map((c) => viewChannel(ctx.deps, c));
}

/** DELETE /v1/channels/:kind (admins): nothing more is posted there; queued messages fail for good. */
export async function disconnectChannel({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { kind: ChannelKind };
}) {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const at = deps.clock();
  const removed = await deps.db.transaction({ workspaceId }, async (tx) => {
    if (!(await removeChannel(tx, workspaceId, input.kind))) return false;
    await appendAudit(tx, auditEvent(ctx, 'channel.removed', input.kind, {}, at));
    return true;
  });
  if (!removed) throw new GatewayError('NOT_FOUND', `No ${input.kind} connection in this workspace.`);
}

/**
 * PUT /v1/channels/slack/link (any member, for themselves): the Slack user who acts for them in
 * Slack, for members whose Slack email differs from their Warden email. Audited.
 */
export async function linkMySlackUser({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { slackUserId: string };
}) {
  const workspaceId = workspaceOf(ctx);
  const memberId = ctx.actor.type === 'member' ? ctx.actor.id : null;
  if (!memberId) throw new GatewayError('FORBIDDEN', 'Only a member can link their own Slack user.');
  const at = ctx.deps.clock();
  await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    await unlinkSlackUsers(tx, workspaceId, memberId);
    await linkSlackUser(tx, workspaceId, input.slackUserId, memberId, at);
    await appendAudit(
      tx,
      auditEvent(ctx, 'slack.user_linked', memberId, { slackUserId: input.slackUserId }, at),
    );
  });
  return { slackUserId: input.slackUserId };
}

/** The member's own Slack link, if any. */
export async function mySlackUser({ ctx }: { ctx: ServiceContext }): Promise<string | null> {
  if (ctx.actor.type !== 'member' || !ctx.actor.id) return null;
  const linked = await slackUsersOf(ctx.deps.db.reader, workspaceOf(ctx), ctx.actor.id);
  return linked[0] ?? null;
}

/**
 * Each connection with its recent deliveries (the console's webhooks page, issue 23 item 4): what
 * was posted or updated, its status, attempts and last error, like a webhook's.
 */
export async function listChannelDeliveries({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number };
}) {
  const reader = ctx.deps.db.reader;
  const channels = await listChannels(reader, workspaceOf(ctx));
  return Promise.all(
    channels.map(async (c) => ({
      channel: viewChannel(ctx.deps, c),
      deliveries: (await listOutbox(reader, c.id, input.limit)).map((item) => ({
        ...viewDelivery(item),
        event:
          `${c.kind} ${String(item.payload.action ?? 'post')} ${String(item.payload.approvalId ?? '')}`.trim(),
      })),
    })),
  );
}
