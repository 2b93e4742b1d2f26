import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { memberAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import { getPolicy, listPolicies, listPolicyVersions } from '../../services/policy/index.ts';
import { asMember } from '../context.ts';
import { route } from '../openapi/route.ts';
import { nameParam, pointer, tag, version } from './schema.ts';

/** Reading policies: every member sees the list, the current version and the history. */
export function registerPolicyReadRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const readers = memberAuth({ deps });

  route(
    app,
    {
      method: 'get',
      path: '/v1/policies',
      operationId: 'listPolicies',
      tag,
      summary: "The workspace's policies and their current versions",
      access: { principal: 'member' },
      responses: { 200: { description: 'Policies', schema: z.object({ policies: z.array(pointer) }) } },
    },
    readers,
    async (c) => c.json({ policies: await listPolicies({ ctx: asMember(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/policies/:name',
      operationId: 'getPolicy',
      tag,
      summary: 'The current version of a policy',
      access: { principal: 'member' },
      responses: { 200: { description: 'The current version', schema: version } },
      errors: ['VALIDATION_ERROR', 'NOT_FOUND'],
    },
    readers,
    async (c) => c.json(await getPolicy({ ctx: asMember(deps, c), input: { name: nameParam(c) } })),
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/policies/:name/versions',
      operationId: 'listPolicyVersions',
      tag,
      summary: 'Every version of a policy, newest first',
      access: { principal: 'member' },
      responses: { 200: { description: 'Versions', schema: z.object({ versions: z.array(version) }) } },
      errors: ['VALIDATION_ERROR', 'NOT_FOUND'],
    },
    readers,
    async (c) =>
      c.json({
        versions: await listPolicyVersions({ ctx: asMember(deps, c), input: { name: nameParam(c) } }),
      }),
  );
}
