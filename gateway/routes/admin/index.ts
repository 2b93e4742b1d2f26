import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { BUSINESS_STATUSES } from '../../domain/index.ts';
import type { GatewayEnv } from '../../env.ts';
import { operatorAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import {
  createWorkspace,
  listBusinessesForOperator,
  registerBusiness,
} from '../../services/tenancy/index.ts';
import { businessView } from '../agp/answers.ts';
import { asOperator } from '../context.ts';
import { route } from '../openapi/route.ts';
import { parseBody } from '../validate.ts';
import { registerAdminWorkspaceRoutes } from './workspaces.ts';

const operation = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().startsWith('/').max(512),
});

/** Issue 24: which signatures forwards carry; both on by default, never both off. */
export const signaturesSchema = z
  .object({
    standardWebhooks: z.boolean().optional().describe('Standard Webhooks HMAC headers (default true).'),
    httpMessageSignatures: z
      .boolean()
      .optional()
      .describe('RFC 9421 HTTP Message Signatures under the gateway key (default true).'),
  })
  .strict()
  .refine(
    (s) => s.standardWebhooks !== false || s.httpMessageSignatures !== false,
    'at least one signature must stay on: a business could not tell forwards from forgeries',
  );

export const adapterSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('http'),
      baseUrl: z.url({ protocol: /^https?$/ }),
      operations: z
        .object({
          discover: operation.optional(),
          query: operation.optional(),
          execute: operation.optional(),
        })
        .strict()
        .optional(),
      signatures: signaturesSchema.optional(),
    })
    .strict(),
  z.object({ type: z.literal('echo') }).strict(),
  z.object({ type: z.literal('module'), name: z.string().min(1).max(128) }).strict(),
]);

export const createWorkspaceBody = z
  .object({ name: z.string().min(1).max(200), adminEmail: z.email() })
  .strict();

export const createBusinessBody = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lowercase letters, digits and dashes, at most 64')
      .optional(),
    name: z.string().min(1).max(200),
    category: z.string().min(1).max(64),
    description: z.string().max(2000).optional(),
    adapter: adapterSchema,
  })
  .strict();

const tag = 'Operator';

/** The circuit breaker of a business (issue 12), as this replica sees it: the state is per replica. */
const breakerView = z.object({
  state: z.enum(['closed', 'open', 'half_open']),
  failures: z.number().int(),
  openUntil: z.string().nullable().describe('End of the cool-down (ISO 8601); null when closed.'),
});

/** The operator API (DESIGN §5), behind WARDEN_ADMIN_TOKEN. */
export function registerAdminRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const auth = operatorAuth({ adminToken: deps.config.adminToken });

  route(
    app,
    {
      method: 'post',
      path: '/v1/admin/workspaces',
      operationId: 'adminCreateWorkspace',
      tag,
      summary: 'A workspace and its first admin, whose token is shown once',
      access: { principal: 'operator' },
      body: createWorkspaceBody,
      responses: {
        201: {
          description: 'The workspace',
          schema: z.object({
            workspace: z.object({ id: z.string(), name: z.string() }),
            adminToken: z.string(),
          }),
        },
      },
    },
    auth,
    async (c) => {
      const body = await parseBody(c, createWorkspaceBody);
      const { workspace, adminToken } = await createWorkspace({ ctx: asOperator(deps, c), input: body });
      return c.json({ workspace, adminToken }, 201);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/admin/businesses',
      operationId: 'adminRegisterBusiness',
      tag,
      summary: 'Register a business and its adapter; its signing secret and business key are shown once',
      access: { principal: 'operator' },
      body: createBusinessBody,
      responses: {
        201: {
          description: 'The business',
          schema: z.object({
            business: businessView,
            signingSecret: z.string(),
            businessKey: z
              .string()
              .describe('The business API key (`wb_…`, for the /v1/business routes), shown once.'),
          }),
        },
      },
      errors: ['CONFLICT'],
    },
    auth,
    async (c) => {
      const body = await parseBody(c, createBusinessBody);
      return c.json(await registerBusiness({ ctx: asOperator(deps, c), input: body }), 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/admin/businesses',
      operationId: 'adminListBusinesses',
      tag,
      summary: 'Every registered business, its lifecycle status, and its circuit breaker on this replica',
      access: { principal: 'operator' },
      responses: {
        200: {
          description: 'Businesses',
          schema: z.object({
            businesses: z.array(
              businessView.extend({
                status: z.enum(BUSINESS_STATUSES),
                sandboxWorkspaces: z.array(z.string()),
                breaker: breakerView,
              }),
            ),
          }),
        },
      },
    },
    auth,
    async (c) => {
      const businesses = await listBusinessesForOperator({ ctx: asOperator(deps, c) });
      return c.json({
        businesses: businesses.map((b) => ({ ...b, breaker: deps.breakers.view(b.id) })),
      });
    },
  );

  registerAdminWorkspaceRoutes(app, deps);
}
