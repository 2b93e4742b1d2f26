import { z } from 'zod';
import { getTransactionStatus } from '../../../services/status.ts';
import { TRANSACTION_ID } from './shapes.ts';
import { defineTool, ok } from './tool.ts';

export const getStatusTool = defineTool({
  name: 'get_status',
  scope: undefined,
  description:
    'Where a transaction stands: `status` (pending, pending_approval, queued, succeeded, failed, unknown, …), the business answer in `data`, the approval stages and the receipt. Use it to wait for a parked execute: poll every few seconds until the status is final.',
  inputSchema: { transactionId: z.string().min(1).max(64) },
  outputSchema: {
    transactionId: TRANSACTION_ID,
    status: z.string(),
    businessId: z.string().nullable(),
    operation: z.string(),
    data: z.unknown().optional(),
    approval: z.unknown().optional(),
    receipt: z.string().optional().describe('The signed receipt (compact JWS) once settled.'),
  },
  annotations: { readOnlyHint: true },
  async handle({ transactionId }, { ctx }) {
    return ok({ ...(await getTransactionStatus({ ctx, transactionId })) });
  },
});
