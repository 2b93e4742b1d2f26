import { checkOutboundUrl } from '../../../adapters/egress.ts';
import { hasInvalidAmount, normaliseAmount, requestCurrency } from '../../../policy/amount.ts';
import { canonicalHash } from '../../../policy/canonical.ts';
import type { Decision } from '../../../policy/index.ts';
import { type TxScope, workspaceRows } from '../../db/types.ts';
import {
  type AgentPrincipal,
  draftTransaction,
  GatewayError,
  type IdempotencyRecord,
  type StoredResponse,
} from '../../domain/index.ts';
import { newIdAt } from '../../ids.ts';
import { getCallbackSecret } from '../../repositories/callback-secrets.ts';
import { answerIdempotency, claimIdempotency, findIdempotency } from '../../repositories/tokens.ts';
import { getTransaction } from '../../repositories/transactions.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import {
  admissionStep,
  countDecision,
  decisionInputOf,
  IDEMPOTENCY_TTL_MS,
  invalidAmount,
  recordFinish,
} from '../execute/index.ts';
import { queueCallback } from '../notifications/index.ts';
import { DEFAULT_POLICY, loadPolicy, readsSharedState } from '../policy/index.ts';

/**
 * Evaluate-only (DESIGN §5; seed 000 §2.1): for systems that execute themselves. The same policy,
 * approvals, spend and ledger as an execute, without a business call: the caller asks, Warden
 * decides (or parks it for people), and once allowed the caller executes and reports the outcome
 * with POST /v1/receipt, which signs it into the workspace's receipt chain.
 */

export interface EvaluateBody {
  policyName?: string;
  agentId: string;
  payloadScope: Record<string, unknown>;
  webhookUrl?: string;
}

export interface EvaluateInput {
  agent: AgentPrincipal;
  body: EvaluateBody;
  idempotencyKey: string | undefined;
}

export interface EvaluateAnswer {
  response: StoredResponse;
  replayed: boolean;
  evaluationId: string;
}

const STATUS = { forward: 'auto_approved', reject: 'rejected', approval: 'pending_human' } as const;

export async function evaluate({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: EvaluateInput;
}): Promise<EvaluateAnswer> {
  const { deps } = ctx;
  const { agent, body } = input;
  // Key-bound tenancy (seed 000 §2.1): the key decides the workspace, and the agent it speaks for.
  if (body.agentId !== agent.agentId) {
    throw new GatewayError(
      'FORBIDDEN',
      `This key belongs to agent ${agent.agentId}: context.agent_id must name it.`,
      {
        path: 'context.agent_id',
      },
    );
  }
  if (body.policyName && agent.policyName && body.policyName !== agent.policyName) {
    throw new GatewayError('FORBIDDEN', `This key is bound to policy ${agent.policyName}.`, {
      path: 'policy_name',
    });
  }
  const policyName = body.policyName ?? agent.policyName ?? DEFAULT_POLICY;
  const policy = await loadPolicy(deps, agent.workspaceId, policyName);
  if (!policy && body.policyName) {
    throw new GatewayError('VALIDATION_ERROR', `No policy named ${policyName}.`, [
      { path: 'policy_name', message: 'no such policy in this workspace' },
    ]);
  }
  const request = body.payloadScope;
  if (policy && hasInvalidAmount(request)) throw invalidAmount('context.payload_scope.amount_cents');
  if (body.webhookUrl) await checkCallbackUrl(ctx, body.webhookUrl);

  const requestHash = canonicalHash(request);
  const bound = canonicalHash({ policyName, webhookUrl: body.webhookUrl ?? null, requestHash });
  const idempotency = input.idempotencyKey
    ? {
        agentKeyId: agent.agentKeyId,
        key: input.idempotencyKey,
        requestHash: bound,
        expiresAt: deps.clock() + IDEMPOTENCY_TTL_MS,
      }
    : undefined;
  if (idempotency) {
    const existing = await findIdempotency(deps.db.reader, agent.agentKeyId, idempotency.key);
    if (existing && existing.expiresAt > deps.clock()) return replay(existing, bound);
  }

  // Issue 14: the evaluation's price, from the config cache (no query while the version holds).
  const version = ctx.configVersion ?? (await deps.cache.current(deps.db.reader));
  const price = deps.cache.evaluationPrice(deps.db.reader, version, agent.workspaceId, agent.agentId);
  const costMicros = typeof price === 'number' ? price : await price;
  const at = deps.clock();
  const amount = normaliseAmount(request);
  const currency = requestCurrency(request, policy?.currency ?? 'USD');
  const transaction = draftTransaction({
    id: newIdAt('evaluation', at),
    workspaceId: agent.workspaceId,
    agentKeyId: agent.agentKeyId,
    agentId: agent.agentId,
    businessId: null,
    operation: 'evaluate',
    request,
    requestHash,
    amount,
    currency,
    policyVersionId: policy?.versionId ?? null,
    policyName,
    // The Idempotency-Key is kept by this service, not on the row: an evaluation's answers are its own.
    requestId: ctx.requestId ?? null,
    callbackUrl: body.webhookUrl ?? null,
    mcp: ctx.mcp ?? null,
    oauthClientId: agent.oauthClientId ?? null,
    costMicros,
    createdAt: at,
  });
  // The workspace's lock only for a decision that reads shared state (DESIGN §8), as for executes.
  // No business: no per-business override or category applies; limits without categories do.
  const scope: TxScope =
    policy && readsSharedState(decisionInputOf(transaction, policy, undefined, at))
      ? { workspaceId: agent.workspaceId }
      : workspaceRows(agent.workspaceId);
  const outcome = await deps.db.transaction(scope, async (tx) => {
    if (idempotency && !(await claimIdempotency(tx, idempotency, transaction.id, at))) {
      return { taken: await findIdempotency(tx, agent.agentKeyId, idempotency.key) };
    }
    // No business: the decision applies no per-business override or category.
    const admission = await admissionStep(tx, ctx, {
      subject: { kind: 'new', transaction },
      policy,
      now: at,
    });
    if (
      admission.outcome !== 'forward' &&
      admission.outcome !== 'reject' &&
      admission.outcome !== 'approval'
    ) {
      throw new Error(`An evaluation cannot be ${admission.outcome}.`);
    }
    const status = STATUS[admission.outcome];
    const explained: Explained = (admission.transaction.decision as Decision | null) ?? noPolicy(policyName);
    const approval =
      admission.outcome === 'approval'
        ? (admission.answer.body as { approval: unknown }).approval
        : undefined;
    const response: StoredResponse = {
      status: 200,
      body: { evaluation_id: transaction.id, status, decision: explained, ...(approval ? { approval } : {}) },
    };
    if (admission.outcome === 'approval') {
      await queueCallback(tx, ctx, {
        transaction,
        type: 'approval_required',
        data: { status, approval },
        at,
      });
    } else {
      await queueCallback(tx, ctx, {
        transaction,
        type: 'terminal_outcome',
        data: { status, decision: explained },
        at,
      });
    }
    if (idempotency) await answerIdempotency(tx, agent.agentKeyId, idempotency.key, response);
    return { response, decided: admission.outcome };
  });
  if ('taken' in outcome) {
    if (!outcome.taken) throw new GatewayError('IDEMPOTENCY_IN_PROGRESS', IN_PROGRESS);
    return replay(outcome.taken, bound);
  }
  countDecision(deps.metrics, outcome.decided);
  return { response: outcome.response, replayed: false, evaluationId: transaction.id };
}

const IN_PROGRESS = 'A request with this Idempotency-Key is still being processed.';

function replay(record: IdempotencyRecord, requestHash: string): EvaluateAnswer {
  if (record.requestHash !== requestHash) {
    throw new GatewayError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request body.',
    );
  }
  if (!record.response) throw new GatewayError('IDEMPOTENCY_IN_PROGRESS', IN_PROGRESS);
  return { response: record.response, replayed: true, evaluationId: record.transactionId };
}

/** The decision as answered: the explanation of DESIGN §6 (no version when no policy exists). */
type Explained = Omit<Decision, 'policy'> & { policy: { name: string; version: number | null } };

/** The decision of a workspace without the policy: allowed, as an execute is (DESIGN §6). */
function noPolicy(name: string): Explained {
  return {
    outcome: 'auto_approve',
    reason: `No policy named ${name} exists in this workspace: nothing restricts this request.`,
    checks: [],
    policy: { name, version: null },
  };
}

/** A `webhook_url` is an outbound URL like any other (DESIGN §7), and needs the secret that signs for it. */
async function checkCallbackUrl(ctx: ServiceContext, url: string): Promise<void> {
  const check = checkOutboundUrl(url, { allowPrivate: ctx.deps.config.egressAllowPrivate });
  if (!check.ok) {
    throw new GatewayError('VALIDATION_ERROR', `The webhook_url is not allowed: ${check.reason}`, [
      { path: 'webhook_url', message: check.reason },
    ]);
  }
  if (!(await getCallbackSecret(ctx.deps.db.reader, workspaceOf(ctx)))) {
    throw new GatewayError(
      'VALIDATION_ERROR',
      'Callbacks to webhook_url are signed with the workspace callback secret, and there is none yet: an admin creates it with POST /v1/webhooks/callback-secret.',
      [{ path: 'webhook_url', message: 'the workspace has no callback secret' }],
    );
  }
}

/**
 * POST /v1/receipt (DESIGN §5): the caller executed an approved evaluation and says how it went,
 * with the agent key that evaluated it. Signed into the receipt chain like an execute's receipt
 * (`operation: "evaluate"`), once.
 */
export async function reportEvaluation({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { evaluationId: string; status: 'succeeded' | 'failed'; data?: unknown };
}): Promise<{ evaluation_id: string; receipt: string }> {
  const { deps } = ctx;
  const workspaceId = workspaceOf(ctx);
  const txn = await getTransaction(deps.db.reader, workspaceId, input.evaluationId);
  if (txn?.operation !== 'evaluate') {
    throw new GatewayError('TRANSACTION_NOT_FOUND', `No evaluation ${input.evaluationId}.`);
  }
  // The outcome is the evaluating key's to report, as its idempotency keys are (DESIGN §4): another
  // key of the workspace, another agent's included, is refused before anything is written.
  if (ctx.actor.type !== 'agent' || ctx.actor.id !== txn.agentKeyId) {
    throw new GatewayError(
      'FORBIDDEN',
      `Evaluation ${txn.id} was requested with another agent key: only that key may report its outcome.`,
    );
  }
  const conflict = (status: string) =>
    new GatewayError(
      'CONFLICT',
      status === 'succeeded' || status === 'failed'
        ? `Evaluation ${txn.id} already has its receipt.`
        : `Evaluation ${txn.id} is ${status === 'pending_approval' ? 'pending_human' : status}: only an approved evaluation takes a receipt.`,
      { status: status === 'pending_approval' ? 'pending_human' : status },
    );
  if (txn.status !== 'approved') throw conflict(txn.status);
  const at = deps.clock();
  const outcome = { status: input.status, data: input.data ?? null, error: null, answer: undefined };
  // No lock: the finish is conditional on `approved`, and the receipt waits for no other.
  const recorded = await deps.db.transaction(workspaceRows(workspaceId), (tx) =>
    recordFinish(tx, ctx, { transaction: txn, outcome, at, from: ['approved', 'approved'] }),
  );
  if (!recorded?.receipt) {
    // Another report won the race.
    const now = await getTransaction(deps.db.reader, workspaceId, txn.id);
    throw conflict(now?.status ?? 'succeeded');
  }
  return { evaluation_id: txn.id, receipt: recorded.receipt };
}
