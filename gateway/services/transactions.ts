import {
  GatewayError,
  type StoredResponse,
  type Transaction,
  type TransactionFilter,
} from '../domain/index.ts';
import { appendAudit } from '../repositories/audit.ts';
import {
  getTransaction as find,
  listTransactions as list,
  summarize as summarise,
  sumSpend,
} from '../repositories/transactions.ts';
import { auditEvent } from './audit.ts';
import { type ServiceContext, workspaceOf } from './context.ts';
import { recordFinish } from './forward.ts';
import { DEFAULT_POLICY, loadPolicy } from './policies.ts';
import { readReceipt } from './receipts.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const viewTransaction = (t: Transaction, withDecision = false) => ({
  transactionId: t.id,
  status: t.status,
  operation: t.operation,
  businessId: t.businessId,
  businessCategory: t.businessCategory,
  agentId: t.agentId,
  amount: t.amount,
  currency: t.currency,
  spend: t.spendState,
  policy: t.policyName,
  policyVersionId: t.policyVersionId,
  costMicros: t.costMicros,
  ...(t.releaseAt === null ? {} : { releaseAt: iso(t.releaseAt) }),
  ...(t.approvalId === null ? {} : { approvalId: t.approvalId }),
  ...(withDecision
    ? { request: t.request, data: t.data, error: t.error, decision: t.decision, mcp: t.mcp }
    : {}),
  createdAt: iso(t.createdAt),
  updatedAt: iso(t.updatedAt),
});

export async function listTransactions({ ctx, filter }: { ctx: ServiceContext; filter: TransactionFilter }) {
  // One more than asked tells whether another page exists.
  const rows = await list(ctx.deps.db.reader, workspaceOf(ctx), { ...filter, limit: filter.limit + 1 });
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    transactions: page.map((t) => viewTransaction(t)),
    nextCursor: rows.length > filter.limit && last ? last.id : null,
  };
}

export async function getTransaction({ ctx, id }: { ctx: ServiceContext; id: string }) {
  const txn = await find(ctx.deps.db.reader, workspaceOf(ctx), id);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${id}.`);
  // A stored receipt naming another transaction is not this one's (logged; the console says why).
  const read = await readReceipt(ctx, { transactionId: txn.id, workspaceId: txn.workspaceId });
  return { ...viewTransaction(txn, true), receipt: read && 'jws' in read ? read.jws : null };
}

const INTERVAL_MS = { day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 } as const;

/**
 * Spend over the last day/week/month by business, category and agent, and each limit of the
 * policy: used (posted), reserved (pending) and what remains, in that limit's own window.
 */
export async function summarize({
  ctx,
  interval,
  policyName = DEFAULT_POLICY,
}: {
  ctx: ServiceContext;
  interval: keyof typeof INTERVAL_MS;
  policyName?: string;
}) {
  const workspaceId = workspaceOf(ctx);
  const reader = ctx.deps.db.reader;
  const now = ctx.deps.clock();
  const since = now - INTERVAL_MS[interval];
  const byBusiness = await summarise(reader, workspaceId, since, 'business_id');
  const byCategory = await summarise(reader, workspaceId, since, 'business_category');
  const byAgent = await summarise(reader, workspaceId, since, 'agent_id');
  const policy = await loadPolicy(ctx.deps, workspaceId, policyName);
  const limits = [];
  for (const limit of policy?.limitsFor('', '') ?? []) {
    const windowStart = policy?.windowStartFor(limit, now) ?? null;
    if (windowStart === null) {
      limits.push({
        id: limit.id,
        interval: limit.interval,
        amount: limit.amount,
        currency: limit.currency,
        perTransaction: true,
      });
      continue;
    }
    const totals = await sumSpend(reader, {
      workspaceId,
      since: windowStart,
      categories: limit.categories,
      currency: limit.currency,
    });
    limits.push({
      id: limit.id,
      interval: limit.interval,
      window: limit.window,
      currency: limit.currency,
      amount: limit.amount,
      windowStart: iso(windowStart),
      used: totals.posted,
      reserved: totals.pending,
      remaining: Math.max(0, limit.amount - totals.posted - totals.pending),
    });
  }
  return {
    interval,
    from: iso(since),
    to: iso(now),
    byBusiness,
    byCategory,
    byAgent,
    policy: policy ? { name: policy.name, version: policy.version } : null,
    limits,
  };
}

export interface ResolveRequest {
  status: 'succeeded' | 'failed';
  reason: string;
}

/**
 * An admin settles an execute whose outcome is unknown (DESIGN §4), having learned it from the
 * business: the reservation is posted (succeeded) or voided (failed), a later repeat with the
 * Idempotency-Key replays the settled answer, and the resolution is audited in the same transaction.
 */
export async function resolveTransaction({
  ctx,
  id,
  input,
}: {
  ctx: ServiceContext;
  id: string;
  input: ResolveRequest;
}) {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const txn = await find(deps.db.reader, workspaceId, id);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${id}.`);
  const conflict = () =>
    new GatewayError('CONFLICT', 'Only a transaction whose outcome is unknown can be resolved.', {
      status: txn.status,
    });
  if (txn.status !== 'unknown') throw conflict();
  const at = deps.clock();
  const response: StoredResponse =
    input.status === 'succeeded'
      ? { status: 200, body: { transactionId: id, status: 'succeeded', data: null } }
      : {
          status: 502,
          body: {
            error: 'The business did not execute this request (settled by a workspace admin).',
            code: 'ADAPTER_ERROR',
            details: { transactionId: id, status: 'failed' },
          },
        };
  const error =
    input.status === 'failed'
      ? { code: 'RESOLVED_FAILED', message: `Resolved by an admin: ${input.reason}` }
      : null;
  const audit = auditEvent(
    ctx,
    'transaction.resolved',
    id,
    { status: input.status, reason: input.reason, previous: 'unknown' },
    at,
  );
  const outcome = { status: input.status, data: null, error, answer: response };
  const resolved = await deps.db.transaction({ workspaceId }, async (tx) => {
    // The status, the reservation, the receipt, the replayed answer and the event, as for a business
    // answer; the resolution's audit event in the same transaction.
    if (!(await recordFinish(tx, deps, txn, outcome, at, ['unknown', 'unknown']))) return false;
    await appendAudit(tx, audit);
    return true;
  });
  // A repeat or a late answer settled it between the read and the write.
  if (!resolved) throw conflict();
  return getTransaction({ ctx, id });
}
