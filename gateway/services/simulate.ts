import { normaliseAmount, requestCurrency } from '../../policy/amount.ts';
import type { Decision } from '../../policy/index.ts';
import { GatewayError } from '../errors.ts';
import type { AdmissionReader } from '../store/types.ts';
import { requireBusiness } from './businesses.ts';
import type { Services } from './context.ts';
import { decide, gatherFacts } from './decide.ts';
import { loadPolicy } from './policies.ts';

/**
 * What the policy would decide for this request now (or `at`), with live spend and history,
 * without recording, reserving or consuming anything.
 */
export async function simulatePolicy({
  ctx,
  workspaceId,
  name,
  input,
}: {
  ctx: Services;
  workspaceId: string;
  name: string;
  input: { businessId: string; request: Record<string, unknown>; agentId?: string; at?: number };
}): Promise<Decision> {
  const policy = await loadPolicy(ctx, workspaceId, name);
  if (!policy) throw new GatewayError('NOT_FOUND', `No policy named ${name}.`);
  const business = await requireBusiness(ctx, input.businessId);
  const now = input.at ?? ctx.clock();
  const reader: AdmissionReader = {
    async spend(window) {
      const totals = await ctx.store.spendTotals({ ...window, workspaceId });
      return totals.pending + totals.posted;
    },
    async firstTimeBusiness() {
      const [succeeded] = await ctx.store.listTransactions(workspaceId, {
        businessId: business.id,
        status: 'succeeded',
        operation: 'execute',
        limit: 1,
      });
      return succeeded === undefined;
    },
  };
  const decisionInput = {
    policy,
    request: input.request,
    amount: normaliseAmount(input.request),
    currency: requestCurrency(input.request, policy.currency),
    business,
    agentId: input.agentId ?? 'simulated-agent',
    now,
  };
  return decide(decisionInput, await gatherFacts(decisionInput, reader));
}
