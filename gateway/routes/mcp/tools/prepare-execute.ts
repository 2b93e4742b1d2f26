import { z } from 'zod';
import { prepareExecute } from '../../../services/prepare.ts';
import { CALL_INPUT } from './shapes.ts';
import { defineTool, ok } from './tool.ts';

export const prepareExecuteTool = defineTool({
  name: 'prepare_execute',
  scope: 'execute',
  description:
    'Get a single-use confirmation token for one execute. Call this first whenever execute answers CONFIRMATION_REQUIRED (the gateway runs in confirm or strict mode): pass the exact same businessId and request, then call execute with `confirmationToken`. The token expires after a few minutes and works once; the returned `summary` says what will be done.',
  inputSchema: CALL_INPUT,
  outputSchema: {
    confirmationToken: z.string().describe('Pass to execute as `confirmationToken`; works once.'),
    expiresAt: z.string(),
    summary: z.unknown().describe('What the execute will do.'),
  },
  async handle({ businessId, request }, { ctx, agent }) {
    return ok({ ...(await prepareExecute({ ctx, agent, input: { businessId, request } })) });
  },
});
