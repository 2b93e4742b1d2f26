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
    ...(txn.releaseAt === null ? {} : { releaseAt: iso(txn.releaseAt) }),
    ...(txn.approvalId === null ? {} : { approval: await approvalState(ctx, workspaceId, txn.approvalId) }),
    createdAt: iso(txn.createdAt),
    updatedAt: iso(txn.updatedAt),
  };
}

/** The approval as an agent sees it while it waits: stages and when the active one runs out. */
async function approvalState(ctx: Services, workspaceId: string, approvalId: string) {
  const approval = await ctx.store.getApproval(workspaceId, approvalId);
  if (!approval) return undefined;
  const active = approval.stages.find((s) => s.status === 'pending');
  return {
    id: approval.id,
    status: approval.status,
    stages: approval.stages.map((s) => ({ index: s.index, role: s.role, tier: s.tier, status: s.status })),
    expiresAt: active?.deadlineAt ? iso(active.deadlineAt) : null,
  };
}
