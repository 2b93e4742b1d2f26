import { canonicalHash } from '../../policy/canonical.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { AgentPrincipal } from '../middleware/auth/index.ts';
import type { Transaction, TransactionStatus } from '../store/types.ts';
import { callAdapter } from './adapter-call.ts';
import { requireBusiness, viewBusiness } from './businesses.ts';
import type { Services } from './context.ts';

export interface OperationResult {
  transactionId: string;
  status: TransactionStatus;
  data: unknown;
  upstreamMs: number;
}

interface ReadInput {
  agent: AgentPrincipal;
  businessId: string;
  request: Record<string, unknown>;
  requestId: string;
  signal?: AbortSignal;
}

/** The shared shape of discover and query: record pending, call the adapter, record the outcome. */
async function runReadOperation(
  ctx: Services,
  operation: 'discover' | 'query',
  input: ReadInput,
): Promise<OperationResult & { businessView: ReturnType<typeof viewBusiness> }> {
  const business = await requireBusiness(ctx, input.businessId);
  const adapter = ctx.adapters.adapterFor(business);
  const at = ctx.clock();
  const txn: Transaction = {
    id: newId('transaction'),
    workspaceId: input.agent.workspaceId,
    agentKeyId: input.agent.agentKeyId,
    agentId: input.agent.agentId,
    businessId: business.id,
    operation,
    status: 'pending',
    request: input.request,
    requestHash: canonicalHash(input.request),
    amount: null,
    currency: null,
    data: null,
    error: null,
    decision: null,
    policyVersionId: null,
    policyName: null,
    businessCategory: business.category,
    spendState: 'none',
    releaseAt: null,
    approvalId: null,
    idempotencyKey: null,
    requestId: input.requestId,
    createdAt: at,
    updatedAt: at,
  };
  await ctx.store.insertTransaction(txn);
  const adapterCtx = {
    businessId: business.id,
    transactionId: txn.id,
    requestId: input.requestId,
    signal: input.signal,
  };
  const outcome = await callAdapter(() =>
    operation === 'discover' ? adapter.discover(adapterCtx) : adapter.query(input.request, adapterCtx),
  );
  if (!outcome.ok) {
    await ctx.store.finishTransaction({
      transactionId: txn.id,
      status: 'failed',
      data: null,
      error: outcome.recorded,
      at: ctx.clock(),
    });
    throw withTransaction(outcome.error, txn.id);
  }
  const { status, data } = outcome.result;
  await ctx.store.finishTransaction({
    transactionId: txn.id,
    status,
    data: data ?? null,
    error: null,
    at: ctx.clock(),
  });
  return {
    transactionId: txn.id,
    status,
    data,
    upstreamMs: outcome.upstreamMs,
    businessView: viewBusiness(business),
  };
}

/** Attaches the transaction id (and what else the agent should know) to an adapter failure. */
export function withTransaction(
  error: GatewayError,
  transactionId: string,
  extra: Record<string, unknown> = {},
): GatewayError {
  const details = { ...(error.details as Record<string, unknown> | undefined), transactionId, ...extra };
  return new GatewayError(error.code, error.message, details, { cause: error.cause });
}

export async function discover({ ctx, input }: { ctx: Services; input: Omit<ReadInput, 'request'> }) {
  const result = await runReadOperation(ctx, 'discover', { ...input, request: {} });
  const adapterData =
    result.data && typeof result.data === 'object' ? (result.data as Record<string, unknown>) : {};
  return { ...result, data: { business: result.businessView, ...adapterData } };
}

export async function query({ ctx, input }: { ctx: Services; input: ReadInput }) {
  return runReadOperation(ctx, 'query', input);
}
