import { amountPath, hasInvalidAmount, normaliseAmount, requestCurrency } from '../../policy/amount.ts';
import { canonicalHash } from '../../policy/canonical.ts';
import {
  amountLimitMessage,
  checkToken,
  EXECUTE_MODE_MESSAGES,
  exceedsCeiling,
  requiresToken,
} from '../../policy/execute-mode.ts';
import type { TxScope } from '../db/types.ts';
import {
  type AgentPrincipal,
  draftTransaction,
  GatewayError,
  type IdempotencyRecord,
  type StoredResponse,
} from '../domain/index.ts';
import { newIdAt } from '../ids.ts';
import { findIdempotency, findToken } from '../repositories/tokens.ts';
import { claimUnknown, getTransaction } from '../repositories/transactions.ts';
import { hashSecret } from '../secrets.ts';
import { admit } from './admission.ts';
import { invalidAmount } from './answers.ts';
import { assertCallable, requireBusiness } from './businesses.ts';
import type { ServiceContext } from './context.ts';
import { readsSharedState } from './decide.ts';
import { forwardAdmitted } from './forward.ts';
import { countDecision } from './observe.ts';
import { compiledVersion, DEFAULT_POLICY } from './policies.ts';

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
  const { executeMode, maxExecuteAmount } = deps.config;
  const tokenNeeded = requiresToken(executeMode);
  const { agent } = input;

  if (!input.body.ok) {
    if (tokenNeeded)
      throw refuse(input.confirmationToken ? 'CONFIRMATION_UNVERIFIABLE' : 'CONFIRMATION_REQUIRED');
    throw new GatewayError(
      'VALIDATION_ERROR',
      'The execute body must be {businessId, request}.',
      input.body.issues,
    );
  }
  const { businessId, request } = input.body.value;
  const requestHash = canonicalHash(request);
  const reader = deps.db.reader;

  const idempotency = input.idempotencyKey
    ? {
        agentKeyId: agent.agentKeyId,
        key: input.idempotencyKey,
        // Bound to the business and the request hash already computed: no second canonicalisation.
        requestHash: canonicalHash([businessId, requestHash]),
        expiresAt: deps.clock() + IDEMPOTENCY_TTL_MS,
      }
    : undefined;
  if (idempotency) {
    const existing = await findIdempotency(reader, agent.agentKeyId, idempotency.key);
    if (existing && (existing.expiresAt > deps.clock() || !existing.response)) {
      return answerFromRecord(ctx, input, existing, idempotency.requestHash);
    }
  }

  let tokenHash: string | undefined;
  if (tokenNeeded) {
    if (!input.confirmationToken) throw refuse('CONFIRMATION_REQUIRED');
    tokenHash = hashSecret(input.confirmationToken);
    const stored = await findToken(reader, tokenHash);
    const refusal = checkToken(stored, {
      agentKeyId: agent.agentKeyId,
      businessId,
      requestHash,
      now: deps.clock(),
    });
    if (refusal === 'CONFIRMATION_INVALID' && idempotency) {
      // A request with the same key (on this replica or another) may have consumed the token since
      // the idempotency read above: it claimed the key in the same commit, so answer as its duplicate.
      const winner = await findIdempotency(reader, agent.agentKeyId, idempotency.key);
      if (winner && winner.expiresAt > deps.clock())
        return answerFromRecord(ctx, input, winner, idempotency.requestHash);
    }
    if (refusal) throw refuse(refusal);
  }

  const amount = normaliseAmount(request);
  // Strict mode's ceiling cannot be checked against an amount it cannot read: refused, not waved through.
  if (executeMode === 'strict' && hasInvalidAmount(request)) throw invalidAmount(amountPath(request));
  if (exceedsCeiling(executeMode, amount, maxExecuteAmount)) {
    throw new GatewayError('AMOUNT_LIMIT_EXCEEDED', amountLimitMessage(maxExecuteAmount));
  }

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
  if (policy && hasInvalidAmount(request)) {
    throw invalidAmount(amountPath(request));
  }
  // Issue 14: the evaluation's price, from the config cache (no query while the version holds).
  const price = deps.cache.evaluationPrice(reader, version, agent.workspaceId, agent.agentId);
  const costMicros = typeof price === 'number' ? price : await price;
  const at = deps.clock();
  const currency = requestCurrency(request, policy?.currency ?? 'USD');
  const transaction = draftTransaction({
    id: newIdAt('transaction', at),
    workspaceId: agent.workspaceId,
    agentKeyId: agent.agentKeyId,
    agentId: agent.agentId,
    businessId,
    operation: 'execute',
    request,
    requestHash,
    amount,
    currency,
    policyVersionId: policy?.versionId ?? null,
    policyName,
    businessCategory: business.category,
    idempotencyKey: idempotency?.key ?? null,
    requestId: ctx.requestId ?? null,
    mcp: ctx.mcp ?? null,
    costMicros,
    createdAt: at,
  });
  const token = tokenHash
    ? { tokenHash, agentKeyId: agent.agentKeyId, businessId, requestHash, now: at }
    : undefined;
  const decision = policy
    ? {
        policy,
        workspaceId: agent.workspaceId,
        request,
        amount,
        currency,
        business,
        agentId: agent.agentId,
        now: at,
      }
    : undefined;
  // A decision that reads the workspace's shared state (spend, history) and then reserves runs under
  // the workspace scope (DESIGN §8). Any other admission is single conditional statements (the token
  // taken once, the idempotency key inserted once): it waits for no other request of the workspace.
  const scope: TxScope = decision && readsSharedState(decision) ? { workspaceId: agent.workspaceId } : {};
  const admission = await deps.db.transaction(scope, (tx) =>
    admit(tx, deps, { subject: { kind: 'new', transaction, token, idempotency }, decision, now: at }),
  );
  countDecision(deps.metrics, admission.outcome);
  switch (admission.outcome) {
    case 'reject':
      throw admission.refusal;
    case 'token_taken':
      // Lost a race: another request consumed the token first.
      throw refuse('CONFIRMATION_INVALID');
    case 'key_taken':
      if (!admission.record) throw new GatewayError('IDEMPOTENCY_IN_PROGRESS', IN_PROGRESS);
      return answerFromRecord(ctx, input, admission.record, idempotency?.requestHash ?? '');
    case 'gone':
      throw new Error('A new execute cannot be gone.');
    case 'approval':
    case 'queue':
      return {
        response: admission.answer,
        replayed: false,
        transactionId: transaction.id,
        decision: admission.outcome,
      };
    case 'forward':
      break;
  }
  const forwarded = await forwardAdmitted({
    deps,
    transaction: admission.transaction,
    adapter,
    requestId: ctx.requestId,
  });
  if (!forwarded.ok) throw forwarded.error;
  return {
    response: forwarded.response,
    replayed: false,
    transactionId: transaction.id,
    upstreamMs: forwarded.upstreamMs,
    decision: 'forward',
  };
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
    deps,
    transaction: unknown,
    adapter: deps.adapters.adapterFor(business),
    requestId: ctx.requestId,
    settling: true,
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
