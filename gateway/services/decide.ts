import type { CompiledPolicy, Decision, Facts } from '../../policy/index.ts';
import { newId } from '../ids.ts';
import type { AdmissionPlan, AdmissionReader, Business, Role, StoredResponse } from '../store/types.ts';

export interface DecisionInput {
  policy: CompiledPolicy;
  request: Record<string, unknown>;
  amount: number | null;
  currency: string;
  business: Pick<Business, 'id' | 'category'>;
  agentId: string;
  now: number;
}

/** The facts the evaluator needs, with spend read live for each limit that applies. */
export async function gatherFacts(input: DecisionInput, reader: AdmissionReader): Promise<Facts> {
  const { policy, business, agentId, now, currency } = input;
  const spend: Record<string, number> = {};
  for (const limit of policy.limitsFor(business.id, agentId)) {
    if (limit.currency !== currency) continue;
    if (limit.categories && !limit.categories.includes(business.category)) continue;
    const since = policy.windowStartFor(limit, now);
    if (since === null) continue;
    spend[limit.id] = await reader.spend({ since, categories: limit.categories, currency });
  }
  return {
    request: input.request,
    amount: input.amount,
    currency,
    business: { id: business.id, category: business.category },
    agentId,
    now,
    spend,
    // One read saved on every execute whose policy never asks.
    firstTimeBusiness: policy.usesHistory ? await reader.firstTimeBusiness() : false,
  };
}

export function decide(input: DecisionInput, facts: Facts): Decision {
  return guardCurrency(input, input.policy.evaluate(facts));
}

/**
 * A limit counts only amounts in its own currency, so a request in a currency none of the applicable
 * limits is kept in would escape them all: such a request is refused, not waved through.
 */
function guardCurrency(input: DecisionInput, decision: Decision): Decision {
  if (decision.outcome === 'reject' || input.amount === null) return decision;
  const limits = input.policy
    .limitsFor(input.business.id, input.agentId)
    .filter((l) => !l.categories || l.categories.includes(input.business.category));
  if (limits.length === 0 || limits.some((l) => l.currency === input.currency)) return decision;
  const kept = [...new Set(limits.map((l) => l.currency))].join(', ');
  const reason = `This policy keeps its spending limits in ${kept}; a request in ${input.currency} cannot be counted against them.`;
  return {
    ...decision,
    outcome: 'reject',
    ruleId: 'spending_limit:currency',
    reason,
    stages: undefined,
    releaseAt: undefined,
    checks: [
      ...decision.checks,
      { control: 'spending_limit', id: 'currency', result: 'fail', detail: reason },
    ],
  };
}

/** The 403 a policy refusal answers with (DESIGN §4), also what an idempotent replay returns. */
export function rejection(decision: Decision, transactionId: string): StoredResponse {
  return {
    status: 403,
    body: {
      error: decision.reason ?? 'Refused by the workspace policy.',
      code: 'POLICY_REJECTED',
      details: {
        ruleId: decision.ruleId ?? null,
        reason: decision.reason ?? null,
        checks: decision.checks,
        transactionId,
      },
    },
  };
}

/** The 202 of a parked request (DESIGN §4): the approval with its stages, the first one active. */
export function parkedApproval(decision: Decision, transactionId: string, approvalId: string, now: number) {
  const stages = decision.stages ?? [];
  const first = stages[0];
  return {
    transactionId,
    status: 'pending_approval' as const,
    approval: {
      id: approvalId,
      stages: stages.map((stage, i) => ({
        index: stage.index,
        role: stage.role,
        tier: stage.tier,
        status: i === 0 ? 'pending' : 'waiting',
      })),
      expiresAt: first ? new Date(now + first.timeoutSeconds * 1000).toISOString() : null,
    },
  };
}

/** Turns a decision into how the store admits the transaction. */
export function planFor(decision: Decision, transactionId: string, now: number): AdmissionPlan {
  switch (decision.outcome) {
    case 'auto_approve':
      return { outcome: 'forward', decision };
    case 'reject':
      return { outcome: 'reject', decision, response: rejection(decision, transactionId) };
    case 'approval': {
      const approvalId = newId('approval');
      return {
        outcome: 'approval',
        decision,
        approvalId,
        stages: (decision.stages ?? []).map((stage) => ({
          index: stage.index,
          role: stage.role as Role,
          tier: stage.tier,
          quorum: stage.quorum,
          timeoutSeconds: stage.timeoutSeconds,
          onTimeout: stage.onTimeout,
        })),
        response: { status: 202, body: parkedApproval(decision, transactionId, approvalId, now) },
      };
    }
    case 'queue': {
      const releaseAt = Date.parse(decision.releaseAt ?? '');
      return {
        outcome: 'queue',
        decision,
        releaseAt,
        response: {
          status: 202,
          body: { transactionId, status: 'queued', releaseAt: new Date(releaseAt).toISOString() },
        },
      };
    }
  }
}

/** A decider for the store's serialised admission step. */
export function decider(input: DecisionInput, transactionId: string) {
  return async (reader: AdmissionReader): Promise<AdmissionPlan> =>
    planFor(decide(input, await gatherFacts(input, reader)), transactionId, input.now);
}
