import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { GatewayError } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import { agentAuth } from '../middleware/auth/index.ts';
import { rateLimit } from '../middleware/rate-limit/index.ts';
import type { Deps } from '../services/context.ts';
import { evaluate, reportEvaluation } from '../services/evaluate/index.ts';
import { idempotencyKeySchema } from './agp/schema.ts';
import { asAgent } from './context.ts';
import { compactJws, decision, isoTime, stageView } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { parseBody } from './validate.ts';

/** DESIGN §5, seed 000 §2.1: the field names are the integration contract's (snake_case). */
export const evaluateBody = z
  .object({
    policy_name: z.string().min(1).max(64).optional(),
    context: z.object({
      agent_id: z.string().min(1).max(128),
      payload_scope: z.record(z.string(), z.unknown()),
    }),
    webhook_url: z.string().min(1).max(2048).optional(),
  })
  .strict();

export const receiptBody = z
  .object({
    evaluation_id: z.string().min(1).max(64),
    status: z.enum(['succeeded', 'failed']),
    data: z.unknown().optional(),
  })
  .strict();

const evaluateAnswer = z.object({
  evaluation_id: z.string(),
  status: z.enum(['auto_approved', 'rejected', 'pending_human']),
  decision: decision.extend({
    policy: z.object({ name: z.string(), version: z.number().int().nullable() }),
  }),
  approval: z
    .object({ id: z.string(), stages: z.array(stageView), expiresAt: isoTime.nullable() })
    .optional(),
});

const tag = 'Evaluate-only';

/** Evaluate-only integration (agent keys with the execute scope): parse, call, map. */
export function registerEvaluateRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const auth = agentAuth({ deps, scope: 'execute' });
  const limited = rateLimit({ deps, limit: deps.config.rateLimitPerMinute });

  route(
    app,
    {
      method: 'post',
      path: '/v1/evaluate',
      operationId: 'evaluate',
      tag,
      summary: 'Decide without executing (the caller executes, then reports)',
      access: { principal: 'agent', scope: 'execute' },
      body: evaluateBody,
      headers: z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() }),
      responses: { 200: { description: 'The decision', schema: evaluateAnswer } },
      errors: ['IDEMPOTENCY_IN_PROGRESS', 'IDEMPOTENCY_KEY_REUSED'],
    },
    auth,
    limited,
    async (c) => {
      const idempotencyKey = c.req.header('Idempotency-Key');
      if (idempotencyKey !== undefined && !idempotencyKeySchema.safeParse(idempotencyKey).success) {
        throw new GatewayError('VALIDATION_ERROR', 'Idempotency-Key must be 1 to 255 characters.');
      }
      const body = await parseBody(c, evaluateBody);
      const answer = await evaluate({
        ctx: asAgent(deps, c),
        input: {
          agent: c.var.agent,
          body: {
            policyName: body.policy_name,
            agentId: body.context.agent_id,
            payloadScope: body.context.payload_scope,
            webhookUrl: body.webhook_url,
          },
          idempotencyKey,
        },
      });
      c.var.log.transactionId = answer.evaluationId;
      if (answer.replayed) c.header('Idempotent-Replayed', 'true');
      return c.json(answer.response.body as Record<string, unknown>, 200);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/receipt',
      operationId: 'reportEvaluationOutcome',
      tag,
      summary: "Report an approved evaluation's execution outcome and get its signed receipt",
      access: { principal: 'agent', scope: 'execute' },
      body: receiptBody,
      responses: {
        201: {
          description: 'The receipt',
          schema: z.object({ evaluation_id: z.string(), receipt: compactJws }),
        },
      },
      errors: ['TRANSACTION_NOT_FOUND', 'CONFLICT'],
    },
    auth,
    limited,
    async (c) => {
      const body = await parseBody(c, receiptBody);
      const answer = await reportEvaluation({
        ctx: asAgent(deps, c),
        input: { evaluationId: body.evaluation_id, status: body.status, data: body.data },
      });
      c.var.log.transactionId = answer.evaluation_id;
      return c.json(answer, 201);
    },
  );
}
