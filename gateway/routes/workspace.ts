import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import {
  ALL_SCOPES,
  createAgentKey,
  createMember,
  listAgentKeys,
  revokeAgentKey,
} from '../services/tenancy/index.ts';
import { asMember } from './context.ts';
import { isoTime, memberWithToken } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody, pathParam } from './validate.ts';

export const createKeyBody = z
  .object({
    agentId: z.string().min(1).max(128),
    scopes: z
      .array(z.enum(ALL_SCOPES as ['discover', 'query', 'execute']))
      .min(1)
      .optional(),
    policy: z.string().min(1).max(128).optional(),
  })
  .strict();

export const createMemberBody = z
  .object({ email: z.email(), role: z.enum(['admin', 'developer', 'approver']) })
  .strict();

const keyView = z.object({
  id: z.string(),
  agentId: z.string(),
  scopes: z.array(z.enum(['discover', 'query', 'execute'])),
  policy: z.string().nullable(),
  prefix: z.string(),
  createdAt: isoTime,
  revokedAt: isoTime.nullable(),
});
const tag = 'Agent keys';

/** Member API for keys and members (DESIGN §5); the workspace always comes from the token. */
export function registerWorkspaceRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const anyMember = memberAuth({ deps });
  const keyManagers = memberAuth({ deps, roles: ['admin', 'developer'] });
  const admins = memberAuth({ deps, roles: ['admin'] });

  route(
    app,
    {
      method: 'post',
      path: '/v1/keys',
      operationId: 'createAgentKey',
      tag,
      summary: 'An agent key; the key is shown once and stored hashed',
      access: { principal: 'member', roles: ['admin', 'developer'] },
      body: createKeyBody,
      responses: { 201: { description: 'The key', schema: keyView.extend({ key: z.string() }) } },
    },
    keyManagers,
    async (c) => {
      const input = await parseBody(c, createKeyBody);
      return c.json(await createAgentKey({ ctx: asMember(deps, c), input }), 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/keys',
      operationId: 'listAgentKeys',
      tag,
      summary: "The workspace's agent keys (never the secrets)",
      access: { principal: 'member' },
      responses: { 200: { description: 'Keys', schema: z.object({ keys: z.array(keyView) }) } },
    },
    anyMember,
    async (c) => c.json({ keys: await listAgentKeys({ ctx: asMember(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'delete',
      path: '/v1/keys/:id',
      operationId: 'revokeAgentKey',
      tag,
      summary: 'Revoke an agent key (refused from its next request, on every replica)',
      access: { principal: 'member', roles: ['admin', 'developer'] },
      responses: { 204: { description: 'Revoked' } },
      errors: ['NOT_FOUND'],
    },
    keyManagers,
    async (c) => {
      await revokeAgentKey({ ctx: asMember(deps, c), input: { id: pathParam(c, 'id') } });
      return c.body(null, 204);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/members',
      operationId: 'addMember',
      tag: 'Members',
      summary: 'Add a member; their token is shown once',
      access: { principal: 'member', roles: ['admin'] },
      body: createMemberBody,
      responses: { 201: { description: 'The member and token', schema: memberWithToken } },
      errors: ['CONFLICT'],
    },
    admins,
    async (c) => {
      const input = await parseBody(c, createMemberBody);
      return c.json(await createMember({ ctx: asMember(deps, c), input }), 201);
    },
  );
}
