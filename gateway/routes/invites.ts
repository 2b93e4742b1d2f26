import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import {
  acceptInvite,
  createInvite,
  listInvites,
  revokeInvite,
  showInvite,
} from '../services/tenancy/index.ts';
import { asMember } from './context.ts';
import { isoTime, memberWithToken, role } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody, pathParam } from './validate.ts';

export const createInviteBody = z
  .object({ email: z.email(), role: z.enum(['admin', 'developer', 'approver']) })
  .strict();

const inviteView = z.object({
  id: z.string(),
  email: z.string(),
  role,
  createdAt: isoTime,
  expiresAt: isoTime,
  acceptedAt: isoTime.nullable(),
});
const tag = 'Members';
const LINK = ['NOT_FOUND', 'INVITE_USED', 'INVITE_EXPIRED', 'WORKSPACE_ARCHIVED'] as const;

/**
 * Invitations (issue 11): an admin invites by email; the link in the email is the only credential
 * of `/invite/:token` (no key, no cookie), good for one accept within 24 hours.
 */
export function registerInviteRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  route(
    app,
    {
      method: 'post',
      path: '/v1/invites',
      operationId: 'createInvite',
      tag,
      summary: 'Email someone a one-time link (24 h) through which they take their member token',
      access: { principal: 'member', roles: ['admin'] },
      body: createInviteBody,
      responses: {
        201: {
          description: 'The invitation (the link is only in the email)',
          schema: z.object({ invite: inviteView }),
        },
      },
      errors: ['CONFLICT', 'SERVICE_UNAVAILABLE'],
    },
    memberAuth({ deps, roles: ['admin'] }),
    async (c) => {
      const input = await parseBody(c, createInviteBody);
      return c.json(await createInvite({ ctx: asMember(deps, c), input }), 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/invites',
      operationId: 'listInvites',
      tag,
      summary: 'The open invitations (not accepted, not expired), newest first',
      access: { principal: 'member', roles: ['admin'] },
      responses: {
        200: { description: 'Open invitations', schema: z.object({ invites: z.array(inviteView) }) },
      },
    },
    memberAuth({ deps, roles: ['admin'] }),
    async (c) => c.json({ invites: await listInvites({ ctx: asMember(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'delete',
      path: '/v1/invites/:id',
      operationId: 'revokeInvite',
      tag,
      summary: 'Withdraw an open invitation: its link stops working',
      access: { principal: 'member', roles: ['admin'] },
      responses: { 204: { description: 'Withdrawn' } },
      errors: ['NOT_FOUND'],
    },
    memberAuth({ deps, roles: ['admin'] }),
    async (c) => {
      await revokeInvite({ ctx: asMember(deps, c), input: { id: pathParam(c, 'id') } });
      return c.body(null, 204);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/invite/:token',
      operationId: 'getInvite',
      tag,
      summary: 'What an invitation link offers',
      access: { principal: 'link' },
      responses: {
        200: {
          description: 'The invitation and how to accept it',
          schema: z.object({
            invite: z.object({
              workspace: z.object({ name: z.string() }),
              email: z.string(),
              role,
              expiresAt: isoTime,
            }),
            accept: z.object({ method: z.literal('POST'), url: z.string() }),
          }),
        },
      },
      errors: LINK,
    },
    async (c) => c.json(await showInvite({ deps, token: pathParam(c, 'token') })),
  );

  route(
    app,
    {
      method: 'post',
      path: '/invite/:token/accept',
      operationId: 'acceptInvite',
      tag,
      summary: 'Take the invitation: the member and their token, once',
      access: { principal: 'link' },
      responses: { 201: { description: 'The new member', schema: memberWithToken } },
      errors: [...LINK, 'CONFLICT', 'WORKSPACE_ARCHIVED'],
    },
    async (c) => c.json(await acceptInvite({ deps, token: pathParam(c, 'token') }), 201),
  );
}
