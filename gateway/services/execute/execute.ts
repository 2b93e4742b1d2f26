import { amountPath, hasInvalidAmount, normaliseAmount, requestCurrency } from '../../../policy/amount.ts';
import { canonicalHash } from '../../../policy/canonical.ts';
import {
  amountLimitMessage,
  checkToken,
  EXECUTE_MODE_MESSAGES,
  exceedsCeiling,
  requiresToken,
} from '../../../policy/execute-mode.ts';
import type { CompiledPolicy } from '../../../policy/index.ts';
import {
  type AgentPrincipal,
  type Business,
  draftTransaction,
  GatewayError,
  type IdempotencyRecord,
  type StoredResponse,
  type Transaction,
} from '../../domain/index.ts';
import { newIdAt } from '../../ids.ts';
import { findIdempotency, findToken } from '../../repositories/tokens.ts';
import { claimUnknown, getTransaction } from '../../repositories/transactions.ts';
import { hashSecret } from '../../secrets.ts';
import { storedTraceContextOf, traceIdOf } from '../../tracing/index.ts';
import type { ServiceContext } from '../context.ts';
import { compiledVersion, DEFAULT_POLICY } from '../policy/index.ts';
import { assertCallable, requireBusiness } from '../tenancy/index.ts';
import type { Admission } from './admission.ts';
import { admitAndForward } from './admission-workflow.ts';
import { invalidAmount } from './answers.ts';
import { type ForwardOutcome, forwardAdmitted } from './forward.ts';
import { countDecision } from './observe.ts';

/** Idempotency keys live 24 hours (DESIGN §4). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export type ExecuteBody =
  | { ok: true; value: { businessId: string; request: Record<string, unknown> } }
  | { ok: false; issues: { path: string; message: string }[] };

export interface ExecuteInput {
  agent: AgentPrincipal;
  body: ExecuteBody;
  confirmationToken: string | undefined;
  idempotencyKey: string | undefined;
}

/** The agent's answer: what the route sends, and what an idempotent replay sends again. */
export interface ExecuteAnswer {
  response: StoredResponse;
  replayed: boolean;
  transactionId: string;
  upstreamMs?: number;
  /** forward | approval | queue | settle, for the request log. */
  decision?: string;
}

const refuse = (code: keyof typeof EXECUTE_MODE_MESSAGES) =>
  new GatewayError(code, EXECUTE_MODE_MESSAGES[code]);

/**
 * POST /agp/execute (DESIGN §4). The checks run in the normative order: body, idempotency,
 * confirmation token, strict ceiling; then admission (key claimed, decision, token consumed, row
 * recorded and spend reserved) in one transaction; then the adapter; then the outcome.
 */
export async function executeRequest({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: ExecuteInput;
}): Promise<ExecuteAnswer> {
  const { deps } = ctx;
  const tokenNeeded = requiresToken(deps.config.executeMode);
  const { businessId, request } = requireBody(input, tokenNeeded);
  const requestHash = canonicalHash(request);

  const idempotency = idempotencyClaim(ctx, input, businessId, requestHash);
  if (idempotency) {
    const existing = await findIdempotency(deps.db.reader, input.agent.agentKeyId, idempotency.key);
    if (existing && (existing.expiresAt > deps.clock() || !existing.response)) {
      return answerFromRecord(ctx, input, existing, idempotency.requestHash);
    }
  }
  const token = tokenNeeded
    ? await checkConfirmation(ctx, input, { businessId, requestHash, idempotency })
    : undefined;
  if (token && 'replay' in token) return token.replay;

  const amount = normaliseAmount(request);
  checkCeiling(ctx, request, amount);
  const { business, adapter, policy, policyName, costMicros } = await governing(ctx, input.agent, businessId);
  if (policy && hasInvalidAmount(request)) throw invalidAmount(amountPath(request));

  const at = deps.clock();
  const transaction = draftExecute(ctx, input.agent, {
    businessId,
    request,
    requestHash,
    amount,
    currency: requestCurrency(request, policy?.currency ?? 'USD'),
    policy,
    policyName,
    business,
    idempotencyKey: idempotency?.key ?? null,
    costMicros,
    at,
  });
  const claim = token
    ? { tokenHash: token.tokenHash, agentKeyId: input.agent.agentKeyId, businessId, requestHash, now: at }
    : undefined;
  const { admission, forwarded } = await admitAndForward({
    ctx,
    input: {
      subject: { kind: 'new', transaction, token: claim, idempotency },
      policy,
      business,
      adapter,
      now: at,
    },
  });
  countDecision(deps.metrics, admission.outcome);
  return answerAdmission(ctx, input, { transactionId: transaction.id, admission, forwarded, idempotency });
}

/** What the agent is told once admission has spoken (and the business, when it was forwarded). */
async function answerAdmission(
  ctx: ServiceContext,
  input: ExecuteInput,
  a: {
    transactionId: string;
    admission: Admission;
    forwarded: ForwardOutcome | undefined;
    idempotency: ReturnType<typeof idempotencyClaim>;
  },
): Promise<ExecuteAnswer> {
  const { admission, forwarded, transactionId } = a;
  switch (admission.outcome) {
    case 'reject':
      throw admission.refusal;
    case 'token_taken':
      // Lost a race: another request consumed the token first.
      throw refuse('CONFIRMATION_INVALID');
    case 'key_taken':
      if (!admission.record) throw new GatewayError('IDEMPOTENCY_IN_PROGRESS', IN_PROGRESS);
      return answerFromRecord(ctx, input, admission.record, a.idempotency?.requestHash ?? '');
    case 'gone':
      throw new Error('A new execute cannot be gone.');
    case 'approval':
    case 'queue':
      return { response: admission.answer, replayed: false, transactionId, decision: admission.outcome };
    case 'forward':
      break;
  }
  if (!forwarded) throw new Error('An execute let through is forwarded.');
  if (!forwarded.ok) throw forwarded.error;
  return {
    response: forwarded.response,
    replayed: false,
    transactionId,
    upstreamMs: forwarded.upstreamMs,
    decision: 'forward',
  };
}

/** The body, checked first; in confirm and strict mode a malformed one is a confirmation refusal. */
function requireBody(input: ExecuteInput, tokenNeeded: boolean) {
  if (input.body.ok) return input.body.value;
  if (tokenNeeded)
    throw refuse(input.confirmationToken ? 'CONFIRMATION_UNVERIFIABLE' : 'CONFIRMATION_REQUIRED');
  throw new GatewayError(
    'VALIDATION_ERROR',
    'The execute body must be {businessId, request}.',
    input.body.issues,
  );
}

/** The Idempotency-Key's claim, bound to the business and the request hash already computed. */
function idempotencyClaim(ctx: ServiceContext, input: ExecuteInput, businessId: string, requestHash: string) {
  if (!input.idempotencyKey) return undefined;
  return {
    agentKeyId: input.agent.agentKeyId,
    key: input.idempotencyKey,
    // No second canonicalisation of the request.
    requestHash: canonicalHash([businessId, requestHash]),
    expiresAt: ctx.deps.clock() + IDEMPOTENCY_TTL_MS,
  };
}

/**
 * Confirm and strict mode: the token must be the one issued for this key, business and request.
 * Its hash, to consume at admission; or the answer of the duplicate that consumed it first.
 */
async function checkConfirmation(
  ctx: ServiceContext,
  input: ExecuteInput,
  bound: { businessId: string; requestHash: string; idempotency: ReturnType<typeof idempotencyClaim> },
): Promise<{ tokenHash: string } | { replay: ExecuteAnswer }> {
  const { deps } = ctx;
  const { agent } = input;
  if (!input.confirmationToken) throw refuse('CONFIRMATION_REQUIRED');
  const tokenHash = hashSecret(input.confirmationToken);
  const stored = await findToken(deps.db.reader, tokenHash);
  const refusal = checkToken(stored, {
    agentKeyId: agent.agentKeyId,
    businessId: bound.businessId,
    requestHash: bound.requestHash,
    now: deps.clock(),
  });
  if (refusal === 'CONFIRMATION_INVALID' && bound.idempotency) {
    // A request with the same key (on this replica or another) may have consumed the token since
    // the idempotency read above: it claimed the key in the same commit, so answer as its duplicate.
    const winner = await findIdempotency(deps.db.reader, agent.agentKeyId, bound.idempotency.key);
    if (winner && winner.expiresAt > deps.clock())
      return { replay: await answerFromRecord(ctx, input, winner, bound.idempotency.requestHash) };
  }
  if (refusal) throw refuse(refusal);
  return { tokenHash };
}

/** Strict mode's ceiling cannot be checked against an amount it cannot read: refused, not waved through. */
function checkCeiling(ctx: ServiceContext, request: Record<string, unknown>, amount: number | null): void {
  const { executeMode, maxExecuteAmount } = ctx.deps.config;
  if (executeMode === 'strict' && hasInvalidAmount(request)) throw invalidAmount(amountPath(request));
  if (exceedsCeiling(executeMode, amount, maxExecuteAmount)) {
    throw new GatewayError('AMOUNT_LIMIT_EXCEEDED', amountLimitMessage(maxExecuteAmount));
  }
}

/**
 * The business (callable by this agent), its adapter, the policy that governs the agent and the
 * evaluation's price, from the config cache: no query while the config version holds.
 */
async function governing(ctx: ServiceContext, agent: AgentPrincipal, businessId: string) {
  const { deps } = ctx;
  const reader = deps.db.reader;
  const policyName = agent.policyName ?? DEFAULT_POLICY;
  const version = ctx.configVersion ?? (await deps.cache.current(reader));
  const found = await deps.cache.businessAndPolicy(
    reader,
    version,
    businessId,
    agent.workspaceId,
    policyName,
  );
  if (!found) throw new GatewayError('BUSINESS_NOT_FOUND', `No business with id ${businessId}.`);
  const { business } = found;
  // Issue 12: sandbox, suspended and archived businesses, before anything is admitted or forwarded.
  assertCallable(business, agent.workspaceId);
  const adapter = deps.adapters.adapterFor(business);
  const policy = found.policyVersionId
    ? await compiledVersion(deps, agent.workspaceId, found.policyVersionId)
    : undefined;
  // Issue 14: the evaluation's price.
  const price = deps.cache.evaluationPrice(reader, version, agent.workspaceId, agent.agentId);
  const costMicros = typeof price === 'number' ? price : await price;
  return { business, adapter, policy, policyName, costMicros };
}

/** The execute's row as admission records it. */
function draftExecute(
  ctx: ServiceContext,
  agent: AgentPrincipal,
  d: {
    businessId: string;
    request: Record<string, unknown>;
    requestHash: string;
    amount: number | null;
    currency: string;
    policy: CompiledPolicy | undefined;
    policyName: string;
    business: Business;
    idempotencyKey: string | null;
    costMicros: number | null;
    at: number;
  },
): Transaction {
  return draftTransaction({
    id: newIdAt('transaction', d.at),
    workspaceId: agent.workspaceId,
    agentKeyId: agent.agentKeyId,
    agentId: agent.agentId,
    businessId: d.businessId,
    operation: 'execute',
    request: d.request,
    requestHash: d.requestHash,
    amount: d.amount,
    currency: d.currency,
    policyVersionId: d.policy?.versionId ?? null,
    policyName: d.policyName,
    businessCategory: d.business.category,
    idempotencyKey: d.idempotencyKey,
    requestId: ctx.requestId ?? null,
    mcp: ctx.mcp ?? null,
    traceId: traceIdOf(ctx.trace) ?? null,
    // What an approved or queued execute's later forward continues.
    traceContext: storedTraceContextOf(ctx.trace) ?? null,
    oauthClientId: agent.oauthClientId ?? null,
    costMicros: d.costMicros,
    createdAt: d.at,
  });
}

const IN_PROGRESS = 'A request with this Idempotency-Key is still being processed.';

/**
 * A parked or queued execute's first answer is its 202; once approved (or released) its forward may
 * have ended unknown, and then a repeat settles it like any unknown outcome (DESIGN §4) instead of
 * replaying the 202. Only 202 records are read again: other answers are final.
 */
async function parkedThenUnknown(
  ctx: ServiceContext,
  input: ExecuteInput,
  record: IdempotencyRecord,
): Promise<boolean> {
  if (record.response?.status !== 202) return false;
  const txn = await getTransaction(ctx.deps.db.reader, input.agent.workspaceId, record.transactionId);
  return txn?.status === 'unknown';
}

/**
 * Same key: another body is 422; the same body replays the first answer. Without an answer yet the
 * first request is still running (409), or it was sent and never answered: then this repeat settles
 * it by forwarding it again with the same key, as the same transaction (DESIGN §4 "Outcome unknown").
 */
async function answerFromRecord(
  ctx: ServiceContext,
  input: ExecuteInput,
  record: IdempotencyRecord,
  requestHash: string,
): Promise<ExecuteAnswer> {
  const { deps } = ctx;
  if (record.requestHash !== requestHash) {
    throw new GatewayError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request body.',
    );
  }
  if (record.response && !(await parkedThenUnknown(ctx, input, record)))
    return { response: record.response, replayed: true, transactionId: record.transactionId };
  const unknown = await deps.db.transaction({}, (tx) =>
    claimUnknown(tx, input.agent.workspaceId, record.transactionId, deps.clock()),
  );
  if (!unknown?.businessId) throw new GatewayError('IDEMPOTENCY_IN_PROGRESS', IN_PROGRESS);
  const business = await requireBusiness(ctx, unknown.businessId);
  const forwarded = await forwardAdmitted({
    ctx,
    input: { transaction: unknown, adapter: deps.adapters.adapterFor(business), settling: true },
  });
  if (!forwarded.ok) throw forwarded.error;
  return {
    response: forwarded.response,
    replayed: false,
    transactionId: unknown.id,
    upstreamMs: forwarded.upstreamMs,
    decision: 'settle',
  };
}
