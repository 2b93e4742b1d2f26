import { GatewayError } from '../../domain/index.ts';
import { getApproval } from '../../repositories/approvals.ts';
import { getTransaction } from '../../repositories/transactions.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { RECEIPTED, readReceipt } from '../ledger/index.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** GET /agp/status/:id — another workspace's transaction does not exist for this caller. */
export async function getTransactionStatus({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { transactionId: string };
}) {
  const { transactionId } = input;
  const workspaceId = workspaceOf(ctx);
  const reader = ctx.deps.db.reader;
  const txn = await getTransaction(reader, workspaceId, transactionId);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${transactionId}.`);
  const approval =
    txn.approvalId === null ? undefined : await getApproval(reader, workspaceId, txn.approvalId);
  const active = approval?.stages.find((s) => s.status === 'pending');
  // A stored receipt naming another transaction is left out (and logged), never served as this one's.
  const read = RECEIPTED.has(txn.status)
    ? await readReceipt(ctx, { transactionId: txn.id, workspaceId })
    : undefined;
  const receipt = read && 'jws' in read ? read.jws : undefined;
  return {
    transactionId: txn.id,
    status: txn.status,
    businessId: txn.businessId,
    operation: txn.operation,
    ...(txn.data === null ? {} : { data: txn.data }),
    ...(txn.error === null ? {} : { error: txn.error }),
    ...(txn.releaseAt === null ? {} : { releaseAt: iso(txn.releaseAt) }),
    ...(approval
      ? {
          // The approval as an agent sees it while it waits: stages and when the active one runs out.
          approval: {
            id: approval.id,
            status: approval.status,
            stages: approval.stages.map((s) => ({
              index: s.index,
              role: s.role,
              tier: s.tier,
              status: s.status,
            })),
            expiresAt: active?.deadlineAt ? iso(active.deadlineAt) : null,
          },
        }
      : {}),
    // DESIGN §9: the settled transaction's signed receipt (compact JWS).
    ...(receipt ? { receipt } : {}),
    createdAt: iso(txn.createdAt),
    updatedAt: iso(txn.updatedAt),
  };
}
