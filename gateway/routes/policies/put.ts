import type { OpenAPIHono } from '@hono/zod-openapi';
import type { GatewayEnv } from '../../env.ts';
import { memberAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import { checkPolicyDocument, putPolicy } from '../../services/policy/index.ts';
import { asMember } from '../context.ts';
import { route } from '../openapi/route.ts';
import { documentBody, documentCheck, nameParam, policyDocument, stored, tag } from './schema.ts';

/** Writing a policy: admins store a version; every member may check a document as PUT would. */
export function registerPolicyWriteRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  route(
    app,
    {
      method: 'put',
      path: '/v1/policies/:name',
      operationId: 'putPolicy',
      tag,
      summary: 'Store a new immutable version (identical content keeps the current one)',
      access: { principal: 'member', roles: ['admin'] },
      body: policyDocument,
      responses: {
        200: { description: 'Unchanged: the current version', schema: stored },
        201: { description: 'A new version', schema: stored },
      },
    },
    memberAuth({ deps, roles: ['admin'] }),
    async (c) => {
      const document = await documentBody(c);
      const { created, ...view } = await putPolicy({
        ctx: asMember(deps, c),
        input: { name: nameParam(c), document },
      });
      return c.json(view, created ? 201 : 200);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/policies/validate',
      operationId: 'validatePolicy',
      tag,
      summary: 'Check a policy document as PUT would, storing nothing: every issue at its path',
      access: { principal: 'member' },
      body: policyDocument,
      responses: {
        200: {
          description: 'Whether the document is valid, and its issues (empty when valid)',
          schema: documentCheck,
        },
      },
    },
    memberAuth({ deps }),
    async (c) => {
      const document = await documentBody(c);
      return c.json(checkPolicyDocument({ ctx: asMember(deps, c), input: { document } }));
    },
  );
}
