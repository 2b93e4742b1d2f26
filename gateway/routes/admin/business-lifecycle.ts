import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { BUSINESS_STATUSES } from '../../domain/index.ts';
import type { GatewayEnv } from '../../env.ts';
import { operatorAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import { revokeBusinessKey, rotateBusinessKey, setBusinessStatus } from '../../services/tenancy/index.ts';
import { asOperator } from '../context.ts';
import { route } from '../openapi/route.ts';
import { parseBody, pathParam } from '../validate.ts';

export const statusBody = z
  .object({
    status: z.enum(BUSINESS_STATUSES),
    sandboxWorkspaces: z.array(z.string().min(1).max(64)).max(1000).optional(),
  })
  .strict();

const lifecycleView = z.object({
  id: z.string(),
  name: z.string(),
  category: z.string(),
  description: z.string(),
  status: z.enum(BUSINESS_STATUSES),
  sandboxWorkspaces: z.array(z.string()),
});

const tag = 'Operator';

/** The operator's side of a business (issue 12): its key and its lifecycle status. */
export function registerBusinessLifecycleRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const auth = operatorAuth({ adminToken: deps.config.adminToken });

  route(
    app,
    {
      method: 'post',
      path: '/v1/admin/businesses/:id/key/rotate',
      operationId: 'adminRotateBusinessKey',
      tag,
      summary: 'A new business key, shown once; the old one stops working at once',
      access: { principal: 'operator' },
      responses: { 201: { description: 'The new key', schema: z.object({ businessKey: z.string() }) } },
      errors: ['NOT_FOUND'],
    },
    auth,
    async (c) =>
      c.json(await rotateBusinessKey({ ctx: asOperator(deps, c), input: { id: pathParam(c, 'id') } }), 201),
  );

  route(
    app,
    {
      method: 'delete',
      path: '/v1/admin/businesses/:id/key',
      operationId: 'adminRevokeBusinessKey',
      tag,
      summary: "Revoke the business's key; it has none until one is rotated in",
      access: { principal: 'operator' },
      responses: { 204: { description: 'Revoked' } },
      errors: ['NOT_FOUND'],
    },
    auth,
    async (c) => {
      await revokeBusinessKey({ ctx: asOperator(deps, c), input: { id: pathParam(c, 'id') } });
      return c.body(null, 204);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/admin/businesses/:id/status',
      operationId: 'adminSetBusinessStatus',
      tag,
      summary: 'Move a business through live, sandbox, suspended and archived',
      description:
        '`live`: every workspace, listed in /agp/businesses. `sandbox`: only `sandboxWorkspaces` (kept when left out), not listed. `suspended`: every AGP call is 403 BUSINESS_SUSPENDED, nothing is forwarded. `archived`: BUSINESS_NOT_FOUND, its history kept.',
      access: { principal: 'operator' },
      body: statusBody,
      responses: { 200: { description: 'The business', schema: z.object({ business: lifecycleView }) } },
      errors: ['NOT_FOUND'],
    },
    auth,
    async (c) => {
      const body = await parseBody(c, statusBody);
      const business = await setBusinessStatus({
        ctx: asOperator(deps, c),
        input: { id: pathParam(c, 'id'), ...body },
      });
      return c.json({ business });
    },
  );
}
