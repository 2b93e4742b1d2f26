import type { CompiledPolicy, Decision, Facts } from '../../../policy/index.ts';
import type { Conn } from '../../db/types.ts';
import type { Business, Transaction } from '../../domain/index.ts';
import { firstTimeBusiness, sumSpend } from '../../repositories/transactions.ts';

/** What a policy decides on: the request and the gateway's facts about it (DESIGN §6). */
export interface DecisionInput {
  policy: CompiledPolicy;
  workspaceId: string;
  request: Record<string, unknown>;
  amount: number | null;
  currency: string;
  business: Pick<Business, 'id' | 'category'>;
  agentId: string;
  now: number;
}

/**
 * The facts the evaluator needs, read through `conn`: spend in each applicable limit's window (every
 * execute of the workspace, `excluding` one whose own reservation must not count against itself)
 * and, for policies that ask, the business history.
 */
export async function gatherFacts(conn: Conn, input: DecisionInput, excluding?: Transaction): Promise<Facts> {
  const { policy, business, agentId, now, currency, workspaceId } = input;
  const reads: Promise<[string, number]>[] = [];
  for (const limit of policy.limitsFor(business.id, agentId)) {
    if (limit.currency !== currency) continue;
    if (limit.categories && !limit.categories.includes(business.category)) continue;
    const since = policy.windowStartFor(limit, now);
    if (since === null) continue;
    reads.push(
      sumSpend(conn, { workspaceId, since, categories: limit.categories, currency, excluding }).then(
        (totals) => [limit.id, totals.pending + totals.posted],
      ),
    );
  }
  // Sent together: on PostgreSQL every window's read (and the history's) goes out pipelined, one
  // round trip while the workspace's lock is held rather than one per limit.
  const [windows, firstTime] = await Promise.all([
    Promise.all(reads),
    // One read saved on every execute whose policy never asks.
    policy.usesHistory ? firstTimeBusiness(conn, workspaceId, business.id) : false,
  ]);
  return {
    request: input.request,
    amount: input.amount,
    currency,
    business: { id: business.id, category: business.category },
    agentId,
    now,
    spend: Object.fromEntries(windows),
    firstTimeBusiness: firstTime,
  };
}

/**
 * Whether deciding `input` reads the workspace's shared state (spend in a rolling or calendar
 * window, the business history): only then must admission hold the workspace's lock (DESIGN §8).
 * Exactly the reads gatherFacts makes.
 */
export function readsSharedState(input: DecisionInput): boolean {
  const { policy, business, agentId, now, currency } = input;
  if (policy.usesHistory) return true;
  return policy
    .limitsFor(business.id, agentId)
    .some(
      (limit) =>
        limit.currency === currency &&
        (!limit.categories || limit.categories.includes(business.category)) &&
        policy.windowStartFor(limit, now) !== null,
    );
}

export function decide(input: DecisionInput, facts: Facts): Decision {
  return guardCurrency(input, input.policy.evaluate(facts));
}

/** Facts read through `conn`, then the decision: inside admission, with live spend. */
export async function decideWith(
  conn: Conn,
  input: DecisionInput,
  excluding?: Transaction,
): Promise<Decision> {
  return decide(input, await gatherFacts(conn, input, excluding));
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
