import { OutcomeUnknownError, type WaitOptions, type WardenClient, WardenError } from '@warden/client';
import { z } from 'zod';

/**
 * The two tools every example agent gets, whatever its framework: discover a business, and execute
 * on it through Warden, waiting for people when the policy asks them (the wait is inside the tool,
 * so the model sees the outcome, not the parking). Each framework folder wraps these in its own
 * tool type. Refusals come back to the model as data it can reason about, not as thrown errors.
 */

export const discoverInput = z.object({
  businessId: z.string().describe('The business to ask, e.g. "shop".'),
});

export const executeInput = z.object({
  businessId: z.string().describe('The business to act on.'),
  request: z
    .record(z.string(), z.unknown())
    .describe('What to ask the business to do, e.g. {"sku": "desk", "amount_cents": 8000}.'),
});

export const DISCOVER = {
  name: 'warden_discover',
  description: 'Find out what a business offers before acting on it.',
} as const;

export const EXECUTE = {
  name: 'warden_execute',
  description:
    'Act on a business through the Warden gateway. May wait for a person to approve; answers the final status (succeeded, failed, rejected, expired) and the business data.',
} as const;

export interface ToolOptions {
  /** How the execute tool waits for an approval (tests poll fast). */
  wait?: WaitOptions;
}

export type ExecuteToolResult =
  | { status: string; transactionId: string; data?: unknown; receipt?: string }
  | { refused: string; reason: string }
  | { status: 'unknown'; idempotencyKey: string; note: string };

export function wardenActions(client: WardenClient, options: ToolOptions = {}) {
  return {
    async discover({ businessId }: z.infer<typeof discoverInput>): Promise<unknown> {
      return (await client.discover(businessId)).data;
    },
    async execute(input: z.infer<typeof executeInput>): Promise<ExecuteToolResult> {
      try {
        const done = await client.executeAndWait(input, options.wait);
        return {
          status: done.status,
          transactionId: done.transactionId,
          data: done.data,
          receipt: done.receipt,
        };
      } catch (error) {
        if (error instanceof OutcomeUnknownError) {
          return {
            status: 'unknown',
            idempotencyKey: error.idempotencyKey,
            note: 'The business may have acted. Do not retry with a new request; a person will settle it.',
          };
        }
        if (error instanceof WardenError) return { refused: error.code, reason: error.message };
        throw error;
      }
    },
  };
}
