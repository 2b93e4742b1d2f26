import { GatewayError } from '../errors.ts';
import type { StoredResponse, Transaction, TransactionFilter } from '../store/types.ts';
import { auditEvent } from './audit.ts';
import type { Actor, Services } from './context.ts';
import { DEFAULT_POLICY, loadPolicy } from './policies.ts';

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
  ...(t.releaseAt === null ? {} : { releaseAt: iso(t.releaseAt) }),
  ...(t.approvalId === null ? {} : { approvalId: t.approvalId }),
  ...(withDecision ? { request: t.request, data: t.data, error: t.error, decision: t.decision } : {}),
  createdAt: iso(t.createdAt),
  updatedAt: iso(t.updatedAt),
});

export async function listTransactions({
  ctx,
  workspaceId,
  filter,
}: {
  ctx: Services;
  workspaceId: string;
  filter: TransactionFilter;
}) {
  // One more than asked tells whether another page exists.
  const rows = await ctx.store.listTransactions(workspaceId, { ...filter, limit: filter.limit + 1 });
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    transactions: page.map((t) => viewTransaction(t)),
    nextCursor: rows.length > filter.limit && last ? last.id : null,
  };
}

export async function getTransaction({
  ctx,
  workspaceId,
  id,
}: {
  ctx: Services;
  workspaceId: string;
  id: string;
}) {
  const txn = await ctx.store.getTransaction(workspaceId, id);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${id}.`);
  return viewTransaction(txn, true);
}

const INTERVAL_MS = { day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 } as const;

/**
 * Spend over the last day/week/month by business, category and agent, and each limit of the
 * policy: used (posted), reserved (pending) and what remains, in that limit's own window.
 */
export async function summarize({
  ctx,
  workspaceId,
  interval,
  policyName = DEFAULT_POLICY,
}: {
  ctx: Services;
  workspaceId: string;
  interval: keyof typeof INTERVAL_MS;
  policyName?: string;
}) {
  const now = ctx.clock();
  const since = now - INTERVAL_MS[interval];
  const [byBusiness, byCategory, byAgent] = await Promise.all([
    ctx.store.summarize(workspaceId, since, 'business_id'),
    ctx.store.summarize(workspaceId, since, 'business_category'),
    ctx.store.summarize(workspaceId, since, 'agent_id'),
  ]);
  const policy = await loadPolicy(ctx, workspaceId, policyName);
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
    const totals = await ctx.store.spendTotals({
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
  workspaceId,
  actor,
  id,
  input,
}: {
  ctx: Services;
  workspaceId: string;
  actor: Actor;
  id: string;
  input: ResolveRequest;
}) {
  const txn = await ctx.store.getTransaction(workspaceId, id);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${id}.`);
  const conflict = () =>
    new GatewayError('CONFLICT', 'Only a transaction whose outcome is unknown can be resolved.', {
      status: txn.status,
    });
  if (txn.status !== 'unknown') throw conflict();
  const at = ctx.clock();
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
  const resolved = await ctx.store.resolveUnknown({
    workspaceId,
    transactionId: id,
    status: input.status,
    error:
      input.status === 'failed'
        ? { code: 'RESOLVED_FAILED', message: `Resolved by an admin: ${input.reason}` }
        : null,
    at,
    response,
    audit: auditEvent({
      workspaceId,
      actor,
      action: 'transaction.resolved',
      target: id,
      data: { status: input.status, reason: input.reason, previous: 'unknown' },
      at,
    }),
  });
  // A repeat or a late answer settled it between the read and the write.
  if (!resolved) throw conflict();
  return getTransaction({ ctx, workspaceId, id });
}
