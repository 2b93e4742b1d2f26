import type { Hono } from 'hono';
import { z } from 'zod';
import { GatewayError } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import { agentAuth } from '../middleware/auth/index.ts';
import { rateLimit } from '../middleware/rate-limit/index.ts';
import type { Deps } from '../services/context.ts';
import { evaluate, reportEvaluation } from '../services/evaluate.ts';
import { idempotencyKeySchema } from './agp/schema.ts';
import { asAgent } from './context.ts';
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

/** Evaluate-only integration (agent keys with the execute scope): parse, call, map. */
export function registerEvaluateRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const auth = agentAuth({ deps, scope: 'execute' });
  const limited = rateLimit({ deps, limit: deps.config.rateLimitPerMinute });

  app.post('/v1/evaluate', auth, limited, async (c) => {
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
  });

  app.post('/v1/receipt', auth, limited, async (c) => {
    const body = await parseBody(c, receiptBody);
    const answer = await reportEvaluation({
      ctx: asAgent(deps, c),
      input: { evaluationId: body.evaluation_id, status: body.status, data: body.data },
    });
    c.var.log.transactionId = answer.evaluation_id;
    return c.json(answer, 201);
  });
}
