import { z } from 'zod';
import { query } from '../../../services/operations.ts';
import { CALL_INPUT, TRANSACTION_ID } from './shapes.ts';
import { defineTool, ok } from './tool.ts';

export const queryTool = defineTool({
  name: 'query',
  scope: 'query',
  description:
    'Ask a business a question with no side effects (prices, availability, order status). `request` is the business-specific object that discover describes. Returns `{transactionId, status, data}`.',
  inputSchema: CALL_INPUT,
  outputSchema: { transactionId: TRANSACTION_ID, status: z.string(), data: z.unknown().optional() },
  annotations: { readOnlyHint: true },
  async handle({ businessId, request }, { ctx, agent, extra }) {
    const r = await query({ ctx, input: { agent, businessId, request, signal: extra.signal } });
    return ok({ transactionId: r.transactionId, status: r.status, data: r.data });
  },
});
