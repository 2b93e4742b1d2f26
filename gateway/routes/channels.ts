import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { GatewayError, ROLES } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import {
  connectSlack,
  connectTeams,
  disconnectChannel,
  handleSlackInteraction,
  linkMySlackUser,
  listConnections,
} from '../services/channels/index.ts';
import { type Deps, type ServiceContext, systemContext } from '../services/context.ts';
import { asMember } from './context.ts';
import { isoTime } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody, pathParam } from './validate.ts';

/** A Slack conversation id (`C…`, `G…`, `D…`), or `dm`: a direct message to each member. */
const slackTarget = z.string().regex(/^(dm|[CGD][A-Z0-9]{2,30})$/, 'a Slack conversation id (C…) or "dm"');

export const slackBody = z
  .object({
    botToken: z.string().regex(/^xoxb-[A-Za-z0-9-]{8,}$/, 'a Slack bot token (xoxb-…)'),
    signingSecret: z.string().regex(/^[a-f0-9]{16,128}$/, "the Slack app's signing secret (hex)"),
    routes: z
      .partialRecord(z.enum(ROLES as ['admin', 'developer', 'approver']), slackTarget)
      .refine((r) => Object.keys(r).length > 0, 'route at least one role')
      .describe('For each stage role, where its approval messages go.'),
  })
  .strict();

export const teamsBody = z.object({ webhookUrl: z.string().min(1).max(2048) }).strict();
export const slackLinkBody = z
  .object({ slackUserId: z.string().regex(/^[UW][A-Z0-9]{2,30}$/, 'a Slack user id (U…)') })
  .strict();

const channelView = z.object({
  id: z.string(),
  kind: z.enum(['slack', 'teams']),
  routes: z.record(z.string(), z.string()).optional(),
  interactionsUrl: z
    .string()
    .optional()
    .describe("Slack: the Request URL for the app's Interactivity settings."),
  createdAt: isoTime,
  updatedAt: isoTime,
});

const tag = 'Channels';

/** Issue 23: Slack and Teams connections (admins), members' Slack links, Slack's interactive callback. */
export function registerChannelRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const anyMember = memberAuth({ deps });
  const admins = memberAuth({ deps, roles: ['admin'] });

  route(
    app,
    {
      method: 'get',
      path: '/v1/channels',
      operationId: 'listChannels',
      tag,
      summary: "The workspace's Slack and Teams connections (never their secrets)",
      access: { principal: 'member', roles: ['admin'] },
      responses: {
        200: { description: 'Connections', schema: z.object({ channels: z.array(channelView) }) },
      },
    },
    admins,
    async (c) => c.json({ channels: await listConnections({ ctx: asMember(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'put',
      path: '/v1/channels/slack',
      operationId: 'connectSlack',
      tag,
      summary: 'Connect a Slack app: approval messages with Approve and Reject buttons',
      description:
        'The bot token and signing secret are sealed at rest and never returned. Give the answer’s `interactionsUrl` to the Slack app’s Interactivity settings.',
      access: { principal: 'member', roles: ['admin'] },
      body: slackBody,
      responses: { 200: { description: 'The connection', schema: channelView } },
    },
    admins,
    async (c) => c.json(await connectSlack({ ctx: asMember(deps, c), input: await parseBody(c, slackBody) })),
  );

  route(
    app,
    {
      method: 'put',
      path: '/v1/channels/teams',
      operationId: 'connectTeams',
      tag,
      summary: 'Connect a Microsoft Teams Workflows webhook: approval cards linking to the console',
      access: { principal: 'member', roles: ['admin'] },
      body: teamsBody,
      responses: { 200: { description: 'The connection', schema: channelView } },
    },
    admins,
    async (c) => c.json(await connectTeams({ ctx: asMember(deps, c), input: await parseBody(c, teamsBody) })),
  );

  route(
    app,
    {
      method: 'delete',
      path: '/v1/channels/:kind',
      operationId: 'disconnectChannel',
      tag,
      summary: 'Disconnect Slack or Teams',
      access: { principal: 'member', roles: ['admin'] },
      responses: { 204: { description: 'Disconnected' } },
      errors: ['NOT_FOUND'],
    },
    admins,
    async (c) => {
      const kind = pathParam(c, 'kind');
      if (kind !== 'slack' && kind !== 'teams')
        throw new GatewayError('NOT_FOUND', `No channel kind ${kind}.`);
      await disconnectChannel({ ctx: asMember(deps, c), input: { kind } });
      return c.body(null, 204);
    },
  );

  route(
    app,
    {
      method: 'put',
      path: '/v1/channels/slack/link',
      operationId: 'linkSlackUser',
      tag,
      summary: 'Link your own Slack user, when its email is not the one Warden knows you by',
      access: { principal: 'member' },
      body: slackLinkBody,
      responses: { 200: { description: 'Linked', schema: slackLinkBody } },
    },
    anyMember,
    async (c) =>
      c.json(await linkMySlackUser({ ctx: asMember(deps, c), input: await parseBody(c, slackLinkBody) })),
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/slack/interactions/:channelId',
      operationId: 'slackInteraction',
      tag,
      summary: "Slack's interactive callback: a click on Approve or Reject",
      description:
        'Form-encoded `payload` as Slack sends it, signed with the app’s signing secret (`X-Slack-Signature` v0 over the raw body, `X-Slack-Request-Timestamp` within five minutes). The signature is the credential.',
      access: { principal: 'public' },
      responses: {
        200: {
          description: 'Decided (or an interaction that is not a decision, ignored)',
          schema: z.object({
            outcome: z.enum(['decided', 'ignored']),
            approvalId: z.string().optional(),
            status: z.string().optional(),
          }),
        },
      },
      errors: ['UNAUTHORIZED', 'VALIDATION_ERROR', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'PROVIDER_ERROR'],
    },
    async (c) => {
      const ctx: ServiceContext = { ...systemContext(deps), requestId: c.var.requestId };
      const result = await handleSlackInteraction({
        ctx,
        input: {
          channelId: pathParam(c, 'channelId'),
          rawBody: await c.req.text(),
          timestamp: c.req.header('x-slack-request-timestamp'),
          signature: c.req.header('x-slack-signature'),
        },
      });
      return c.json(result);
    },
  );
}
