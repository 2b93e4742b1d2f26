import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { BUSINESS_STATUSES, TRANSACTION_STATUSES } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import { businessAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import {
  getOwnBusiness,
  listOwnCalls,
  rotateOwnSigningSecret,
  setOwnAdapter,
  testOwnAdapter,
  updateOwnBusiness,
} from '../services/tenancy/index.ts';
import { signaturesSchema } from './admin/index.ts';
import { asBusiness } from './context.ts';
import { isoTime, nextCursor, operation as operationName, transactionStatus } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody, parseQuery } from './validate.ts';

const operationOverride = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().startsWith('/').max(512),
});

export const putAdapterBody = z
  .object({
    type: z.literal('http'),
    baseUrl: z.url({ protocol: /^https?$/ }),
    operations: z
      .object({
        discover: operationOverride.optional(),
        query: operationOverride.optional(),
        execute: operationOverride.optional(),
      })
      .strict()
      .optional(),
    /** At most ADAPTER_TIMEOUT_MS (checked by the service, which knows it). */
    timeoutMs: z.int().min(100).max(600_000).optional(),
    /** At most ADAPTER_MAX_CONCURRENCY when that is set (checked by the service). */
    maxConcurrency: z
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe(
        'Calls in flight to this business at once, per gateway replica; past it a call waits, then is refused with 503 ADAPTER_UNAVAILABLE. At most ADAPTER_MAX_CONCURRENCY.',
      ),
    signatures: signaturesSchema.optional(),
  })
  .strict();

export const patchBusinessBody = z
  .object({ name: z.string().min(1).max(200).optional(), description: z.string().max(2000).optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.description !== undefined, 'name or description is required');

export const callsQuery = z
  .object({
    status: z.enum(TRANSACTION_STATUSES).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    cursor: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

const adapterView = z
  .union([
    z.object({
      type: z.literal('http'),
      baseUrl: z.string(),
      operations: z.record(z.string(), operationOverride).optional(),
      timeoutMs: z.number().int().optional(),
      maxConcurrency: z.number().int().optional(),
      signatures: z
        .object({ standardWebhooks: z.boolean().optional(), httpMessageSignatures: z.boolean().optional() })
        .optional(),
    }),
    z.object({ type: z.literal('echo') }),
    z.object({ type: z.literal('module'), name: z.string() }),
  ])
  .describe('The adapter config; signing secrets are never part of it.');

const ownBusiness = z.object({
  business: z.object({
    id: z.string(),
    name: z.string(),
    category: z.string(),
    description: z.string(),
    status: z.enum(BUSINESS_STATUSES),
  }),
  adapter: adapterView,
});

const testAnswer = z.object({
  ok: z.boolean(),
  status: z
    .string()
    .nullable()
    .describe('What the adapter reported (`succeeded`, `failed`, `pending_confirmation`); null on failure.'),
  latencyMs: z.number(),
  upstreamStatus: z.number().int().optional().describe('The HTTP status of a non-2xx answer.'),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

const callView = z.object({
  transactionId: z.string(),
  operation: operationName,
  status: transactionStatus,
  durationMs: z
    .number()
    .nullable()
    .describe('From recorded to settled, for discover, query and execute answered at once; null otherwise.'),
  workspaceId: z.string(),
  createdAt: isoTime,
});

const tag = 'Business';

/** The business API (issue 12): a business key acting on its own business, and nothing else. */
export function registerBusinessRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const auth = businessAuth({ deps });
  const access = { principal: 'business' } as const;

  route(
    app,
    {
      method: 'get',
      path: '/v1/business',
      operationId: 'businessGetProfile',
      tag,
      summary: 'The business this key belongs to, and its adapter',
      access,
      responses: { 200: { description: 'The business', schema: ownBusiness } },
    },
    auth,
    async (c) => c.json(await getOwnBusiness({ ctx: asBusiness(deps, c) })),
  );

  route(
    app,
    {
      method: 'patch',
      path: '/v1/business',
      operationId: 'businessUpdateProfile',
      tag,
      summary: "Change the business's name or description",
      access,
      body: patchBusinessBody,
      responses: { 200: { description: 'The business', schema: ownBusiness } },
    },
    auth,
    async (c) => {
      const body = await parseBody(c, patchBusinessBody);
      return c.json(await updateOwnBusiness({ ctx: asBusiness(deps, c), input: body }));
    },
  );

  route(
    app,
    {
      method: 'put',
      path: '/v1/business/adapter',
      operationId: 'businessPutAdapter',
      tag,
      summary: 'Point the business at a new http endpoint; the next call on every replica uses it',
      description: 'The URL passes the same outbound check as at registration (EGRESS_ALLOW_PRIVATE).',
      access,
      body: putAdapterBody,
      responses: { 200: { description: 'The business', schema: ownBusiness } },
    },
    auth,
    async (c) => {
      const body = await parseBody(c, putAdapterBody);
      return c.json(await setOwnAdapter({ ctx: asBusiness(deps, c), input: body }));
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/business/adapter/test',
      operationId: 'businessTestAdapter',
      tag,
      summary: 'Send a signed discover to the adapter and say how it went',
      description:
        'Nothing is recorded in the ledger. A failure to reach the adapter is `ok: false`, still a 200.',
      access,
      responses: { 200: { description: 'The outcome', schema: testAnswer } },
    },
    auth,
    async (c) => c.json(await testOwnAdapter({ ctx: asBusiness(deps, c) })),
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/business/signing-secret/rotate',
      operationId: 'businessRotateSigningSecret',
      tag,
      summary: 'A new signing secret, shown once; the old one keeps signing until previousValidUntil',
      description:
        'Until `previousValidUntil` (SIGNING_SECRET_OVERLAP_SECONDS, 24 h by default) each forwarded request carries `webhook-signature: v1,<new> v1,<old>` (Standard Webhooks).',
      access,
      responses: {
        201: {
          description: 'The new secret',
          schema: z.object({ signingSecret: z.string(), previousValidUntil: isoTime }),
        },
      },
      errors: ['CONFLICT'],
    },
    auth,
    async (c) => {
      const { signingSecret, previousValidUntil } = await rotateOwnSigningSecret({
        ctx: asBusiness(deps, c),
      });
      return c.json({ signingSecret, previousValidUntil: new Date(previousValidUntil).toISOString() }, 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/business/calls',
      operationId: 'businessListCalls',
      tag,
      summary: 'The calls agents made to this business, newest first',
      access,
      query: callsQuery,
      responses: {
        200: {
          description: 'A page of calls',
          schema: z.object({ calls: z.array(callView), nextCursor }),
        },
      },
    },
    auth,
    async (c) => {
      const q = parseQuery(c, callsQuery);
      const { calls, nextCursor: next } = await listOwnCalls({
        ctx: asBusiness(deps, c),
        input: {
          filter: {
            ...q,
            from: q.from ? Date.parse(q.from) : undefined,
            to: q.to ? Date.parse(q.to) : undefined,
          },
        },
      });
      return c.json({
        calls: calls.map((call) => ({
          transactionId: call.id,
          operation: call.operation,
          status: call.status,
          durationMs: call.durationMs,
          workspaceId: call.workspaceId,
          createdAt: new Date(call.createdAt).toISOString(),
        })),
        nextCursor: next,
      });
    },
  );
}
