import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { GatewayError } from '../../domain/index.ts';
import type { GatewayEnv } from '../../env.ts';
import { agentAuth } from '../../middleware/auth/index.ts';
import { rateLimit } from '../../middleware/rate-limit/index.ts';
import type { Deps } from '../../services/context.ts';
import {
  discover,
  executeRequest,
  getTransactionStatus,
  prepareExecute,
  query,
} from '../../services/execute/index.ts';
import { getReceiptOf } from '../../services/ledger/index.ts';
import { listBusinesses } from '../../services/tenancy/index.ts';
import { asAgent } from '../context.ts';
import { route } from '../openapi/route.ts';
import { parseBody, parseQuery, pathParam, readJson, toIssues } from '../validate.ts';
import {
  businessesAnswer,
  EXAMPLES,
  executedAnswer,
  operationAnswer,
  parkedAnswer,
  prepareAnswer,
  receiptAnswer,
  statusAnswer,
} from './answers.ts';
import { businessesQuery, discoverBody, idempotencyKeySchema, operationBody } from './schema.ts';

const tag = 'Agent API (AGP)';
const ADAPTER = ['BUSINESS_NOT_FOUND', 'ADAPTER_ERROR', 'ADAPTER_UNAVAILABLE', 'ADAPTER_TIMEOUT'] as const;
const CONFIRMATION = [
  'CONFIRMATION_REQUIRED',
  'CONFIRMATION_UNVERIFIABLE',
  'CONFIRMATION_INVALID',
  'CONFIRMATION_EXPIRED',
  'CONFIRMATION_MISMATCH',
  'AMOUNT_LIMIT_EXCEEDED',
  'POLICY_REJECTED',
] as const;

/** The agent API (DESIGN §4): parse, call the service, map the answer. */
export function registerAgpRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const auth = (scope?: 'discover' | 'query' | 'execute') => agentAuth({ deps, scope });
  // After auth: counted per agent key in the database, shared by every replica (RATE_LIMIT_PER_MINUTE).
  const limited = rateLimit({ deps, limit: deps.config.rateLimitPerMinute });

  route(
    app,
    {
      method: 'post',
      path: '/agp/discover',
      operationId: 'discover',
      tag,
      summary: 'What a business offers',
      access: { principal: 'agent', scope: 'discover' },
      body: discoverBody,
      responses: {
        200: {
          description: 'The business and its adapter data',
          schema: operationAnswer,
          example: EXAMPLES.discover,
        },
      },
      errors: [...ADAPTER, 'BUSINESS_SUSPENDED'],
    },
    auth('discover'),
    limited,
    async (c) => {
      const body = await parseBody(c, discoverBody);
      c.var.log.businessId = body.businessId;
      const result = await discover({
        ctx: asAgent(deps, c),
        input: { agent: c.var.agent, businessId: body.businessId, signal: c.req.raw.signal },
      });
      c.var.log.transactionId = result.transactionId;
      c.var.log.upstreamMs = result.upstreamMs;
      return c.json({ transactionId: result.transactionId, status: result.status, data: result.data });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/agp/query',
      operationId: 'query',
      tag,
      summary: 'Ask a business (no side effects)',
      access: { principal: 'agent', scope: 'query' },
      body: operationBody,
      responses: { 200: { description: "The business's answer", schema: operationAnswer } },
      errors: [...ADAPTER, 'BUSINESS_SUSPENDED'],
    },
    auth('query'),
    limited,
    async (c) => {
      const body = await parseBody(c, operationBody);
      c.var.log.businessId = body.businessId;
      const result = await query({
        ctx: asAgent(deps, c),
        input: { agent: c.var.agent, ...body, signal: c.req.raw.signal },
      });
      c.var.log.transactionId = result.transactionId;
      c.var.log.upstreamMs = result.upstreamMs;
      return c.json({ transactionId: result.transactionId, status: result.status, data: result.data });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/agp/execute/prepare',
      operationId: 'prepareExecute',
      tag,
      summary: 'A single-use confirmation token for one execute',
      description:
        'Bound to the business, the RFC 8785 hash of the request and this agent key (docs/api.md).',
      access: { principal: 'agent', scope: 'execute' },
      body: operationBody,
      responses: {
        200: { description: 'The token, once', schema: prepareAnswer, example: EXAMPLES.prepare },
      },
      errors: ['BUSINESS_NOT_FOUND', 'BUSINESS_SUSPENDED', 'AMOUNT_LIMIT_EXCEEDED'],
    },
    auth('execute'),
    limited,
    async (c) => {
      const body = await parseBody(c, operationBody);
      c.var.log.businessId = body.businessId;
      return c.json(await prepareExecute({ ctx: asAgent(deps, c), agent: c.var.agent, input: body }));
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/agp/execute',
      operationId: 'execute',
      tag,
      summary: 'Act on a business, if the gate allows it',
      description:
        'The execute mode, then the workspace policy decide: forward, refuse (403), or park for approval or a time window (202).',
      access: { principal: 'agent', scope: 'execute' },
      body: operationBody,
      headers: z.object({
        'X-Confirmation-Token': z
          .string()
          .optional()
          .describe('From /agp/execute/prepare (confirm, strict).'),
        'Idempotency-Key': idempotencyKeySchema
          .optional()
          .describe('Same key and body replay the first answer.'),
      }),
      responses: {
        200: {
          description: 'The adapter ran; `status` is what it reported',
          schema: executedAnswer,
          example: EXAMPLES.executed,
          headers: z.object({
            'Idempotent-Replayed': z.literal('true').optional().describe('Set on a replay.'),
          }),
        },
        202: {
          description: 'Parked: waiting for approval or a time window',
          schema: parkedAnswer,
          example: EXAMPLES.parked,
        },
      },
      errors: [
        ...ADAPTER,
        'BUSINESS_SUSPENDED',
        ...CONFIRMATION,
        'IDEMPOTENCY_IN_PROGRESS',
        'IDEMPOTENCY_KEY_REUSED',
      ],
    },
    auth('execute'),
    limited,
    async (c) => {
      const idempotencyKey = c.req.header('Idempotency-Key');
      if (idempotencyKey !== undefined && !idempotencyKeySchema.safeParse(idempotencyKey).success) {
        throw new GatewayError('VALIDATION_ERROR', 'Idempotency-Key must be 1 to 255 characters.');
      }
      const json = await readJson(c);
      const parsed = json.ok ? operationBody.safeParse(json.value) : undefined;
      const answer = await executeRequest({
        ctx: asAgent(deps, c),
        input: {
          agent: c.var.agent,
          body: parsed?.success
            ? { ok: true, value: parsed.data }
            : {
                ok: false,
                issues: parsed ? toIssues(parsed.error) : [{ path: '', message: 'The body must be JSON.' }],
              },
          confirmationToken: c.req.header('X-Confirmation-Token') || undefined,
          idempotencyKey,
        },
      });
      const log = c.var.log;
      log.businessId = parsed?.data?.businessId;
      log.transactionId = answer.transactionId;
      log.upstreamMs = answer.upstreamMs;
      log.decision = answer.decision;
      if (answer.replayed) {
        log.replayed = true;
        c.header('Idempotent-Replayed', 'true');
        const body = answer.response.body as Record<string, unknown>;
        const status = answer.response.status as 200;
        // A replayed refusal carries this request's id, as every error does.
        return c.json('code' in body ? { ...body, requestId: c.var.requestId } : body, status);
      }
      return c.json(answer.response.body as Record<string, unknown>, answer.response.status as 200);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/agp/status/:transactionId',
      operationId: 'getStatus',
      tag,
      summary: 'Where a transaction stands',
      access: { principal: 'agent' },
      responses: { 200: { description: 'The transaction', schema: statusAnswer, example: EXAMPLES.status } },
      errors: ['TRANSACTION_NOT_FOUND'],
    },
    auth(),
    limited,
    async (c) =>
      c.json(
        await getTransactionStatus({
          ctx: asAgent(deps, c),
          input: { transactionId: pathParam(c, 'transactionId') },
        }),
      ),
  );

  route(
    app,
    {
      method: 'get',
      path: '/agp/receipts/:transactionId',
      operationId: 'getReceipt',
      tag,
      summary: "A settled transaction's signed receipt",
      access: { principal: 'agent' },
      responses: { 200: { description: 'The receipt (compact JWS) and its payload', schema: receiptAnswer } },
      errors: ['TRANSACTION_NOT_FOUND', 'RECEIPT_NOT_FOUND'],
    },
    auth(),
    limited,
    async (c) =>
      c.json(await getReceiptOf({ ctx: asAgent(deps, c), transactionId: pathParam(c, 'transactionId') })),
  );

  route(
    app,
    {
      method: 'get',
      path: '/agp/businesses',
      operationId: 'listBusinesses',
      tag,
      summary: 'The business directory',
      access: { principal: 'agent' },
      query: businessesQuery,
      responses: { 200: { description: 'Matching businesses', schema: businessesAnswer } },
    },
    auth(),
    limited,
    async (c) => {
      const filter = parseQuery(c, businessesQuery);
      // Issue 12: the directory lists live businesses only (sandbox ones are called by id).
      const live = { ...filter, status: 'live' as const };
      return c.json({ businesses: await listBusinesses({ ctx: asAgent(deps, c), input: { filter: live } }) });
    },
  );
}
