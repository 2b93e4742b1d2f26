import { z } from 'zod';
import { evaluate } from '../../../services/evaluate.ts';
import { idempotencyKeySchema } from '../../agp/schema.ts';
import { defineTool, fromAnswer } from './tool.ts';

export const evaluateTool = defineTool({
  name: 'evaluate',
  scope: 'execute',
  description:
    'Ask the workspace policy for a decision without executing anything (for when you execute yourself): `status` is auto_approved, rejected or pending_human. `context.payload_scope` is the request you intend to make (amount_cents, currency, …).',
  inputSchema: {
    policy_name: z.string().min(1).max(64).optional(),
    context: z.object({
      agent_id: z.string().min(1).max(128),
      payload_scope: z.record(z.string(), z.unknown()),
    }),
    webhook_url: z.string().min(1).max(2048).optional(),
    idempotencyKey: idempotencyKeySchema.optional(),
  },
  outputSchema: {
    evaluation_id: z.string(),
    status: z.enum(['auto_approved', 'rejected', 'pending_human']),
    decision: z.unknown(),
  },
  async handle(args, { ctx, agent }) {
    const answer = await evaluate({
      ctx,
      input: {
        agent,
        body: {
          policyName: args.policy_name,
          agentId: args.context.agent_id,
          payloadScope: args.context.payload_scope,
          webhookUrl: args.webhook_url,
        },
        idempotencyKey: args.idempotencyKey,
      },
    });
    return fromAnswer(answer.response.status, answer.response.body);
  },
});
