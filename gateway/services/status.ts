import { GatewayError } from '../errors.ts';
import type { Services } from './context.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** GET /agp/status/:id — another workspace's transaction does not exist for this caller. */
export async function getTransactionStatus({
  ctx,
  workspaceId,
  transactionId,
}: {
  ctx: Services;
  workspaceId: string;
  transactionId: string;
}) {
  const txn = await ctx.store.getTransaction(workspaceId, transactionId);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${transactionId}.`);
  return {
    transactionId: txn.id,
    status: txn.status,
    businessId: txn.businessId,
    operation: txn.operation,
    ...(txn.data === null ? {} : { data: txn.data }),
    ...(txn.error === null ? {} : { error: txn.error }),
    createdAt: iso(txn.createdAt),
    updatedAt: iso(txn.updatedAt),
  };
}
