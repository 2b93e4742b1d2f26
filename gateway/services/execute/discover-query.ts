import { canonicalHash } from '../../../policy/canonical.ts';
import { type AgentPrincipal, draftTransaction, type TransactionStatus } from '../../domain/index.ts';
import { newIdAt } from '../../ids.ts';
import { insertTransaction } from '../../repositories/transactions.ts';
import type { ServiceContext } from '../context.ts';
import { requireCallableBusiness, viewBusiness } from '../tenancy/index.ts';
import { callAdapter } from './adapter-call.ts';
import { attachTransactionId } from './answers.ts';
import { recordFinish } from './forward.ts';
import { observeAdapterCall } from './observe.ts';

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
  signal?: AbortSignal;
}

/** The shared shape of discover and query: record pending, call the adapter, record the outcome. */
async function runReadOperation(
  ctx: ServiceContext,
  operation: 'discover' | 'query',
  input: ReadInput,
): Promise<OperationResult & { businessView: ReturnType<typeof viewBusiness> }> {
  const { deps } = ctx;
  const business = await requireCallableBusiness(ctx, input.businessId);
  const adapter = deps.adapters.adapterFor(business);
  const at = deps.clock();
  const txn = draftTransaction({
    id: newIdAt('transaction', at),
    workspaceId: input.agent.workspaceId,
    agentKeyId: input.agent.agentKeyId,
    agentId: input.agent.agentId,
    businessId: business.id,
    operation,
    request: input.request,
    requestHash: canonicalHash(input.request),
    businessCategory: business.category,
    requestId: ctx.requestId ?? null,
    mcp: ctx.mcp ?? null,
    oauthClientId: input.agent.oauthClientId ?? null,
    createdAt: at,
  });
  await deps.db.transaction({}, (tx) => insertTransaction(tx, txn));
  const adapterCtx = {
    businessId: business.id,
    transactionId: txn.id,
    requestId: ctx.requestId,
    signal: input.signal,
  };
  const outcome = await callAdapter(
    deps,
    business.id,
    () =>
      operation === 'discover' ? adapter.discover(adapterCtx) : adapter.query(input.request, adapterCtx),
    adapter.maxConcurrency ?? deps.config.adapterMaxConcurrency,
  );
  observeAdapterCall(deps.metrics, business.id, outcome);
  const finished = outcome.ok
    ? { status: outcome.result.status, data: outcome.result.data ?? null, error: null, answer: undefined }
    : { status: 'failed' as const, data: null, error: outcome.recorded, answer: undefined };
  await deps.db.transaction({}, (tx) =>
    recordFinish(tx, ctx, { transaction: txn, outcome: finished, at: deps.clock() }),
  );
  if (!outcome.ok) throw attachTransactionId(outcome.error, txn.id);
  return {
    transactionId: txn.id,
    status: outcome.result.status,
    data: outcome.result.data,
    upstreamMs: outcome.upstreamMs,
    businessView: viewBusiness(business),
  };
}

export async function discover({ ctx, input }: { ctx: ServiceContext; input: Omit<ReadInput, 'request'> }) {
  const result = await runReadOperation(ctx, 'discover', { ...input, request: {} });
  const adapterData =
    result.data && typeof result.data === 'object' ? (result.data as Record<string, unknown>) : {};
  return { ...result, data: { business: result.businessView, ...adapterData } };
}

export async function query({ ctx, input }: { ctx: ServiceContext; input: ReadInput }) {
  return runReadOperation(ctx, 'query', input);
}
