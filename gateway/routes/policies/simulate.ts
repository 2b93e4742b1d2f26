import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { memberAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import { simulatePolicy } from '../../services/policy/index.ts';
import { asMember } from '../context.ts';
import { decision } from '../openapi/common.ts';
import { route } from '../openapi/route.ts';
import { parseBody } from '../validate.ts';
import { nameParam, simulateBody, tag } from './schema.ts';

/** What a policy would decide for a request, recording nothing; any member may ask. */
export function registerPolicySimulateRoute(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  route(
    app,
    {
      method: 'post',
      path: '/v1/policies/:name/simulate',
      operationId: 'simulatePolicy',
      tag,
      summary: 'What the current version would decide for a request (nothing is recorded)',
      access: { principal: 'member' },
      body: simulateBody,
      responses: { 200: { description: 'The decision', schema: z.object({ decision }) } },
      errors: ['NOT_FOUND', 'BUSINESS_NOT_FOUND'],
    },
    memberAuth({ deps }),
    async (c) => {
      const body = await parseBody(c, simulateBody);
      const result = await simulatePolicy({
        ctx: asMember(deps, c),
        input: { ...body, name: nameParam(c), at: body.at ? Date.parse(body.at) : undefined },
      });
      return c.json({ decision: result });
    },
  );
}
