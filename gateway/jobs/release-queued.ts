import { requestCurrency } from '../../policy/amount.ts';
import type { Services } from '../services/context.ts';
import { decide, gatherFacts, planFor } from '../services/decide.ts';
import { forwardAdmitted } from '../services/forward.ts';
import { loadPolicy } from '../services/policies.ts';
import type { AdmissionPlan } from '../store/types.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

/**
 * Releases queued executes when their time window opens (DESIGN §6): the policy decides again
 * with live spend (limits re-checked), and what it lets through is executed. Reads the database,
 * so a restart or a second process changes nothing: each release is one serialised claim.
 */
export async function releaseDue(ctx: Services, batch = 50): Promise<number> {
  const now = ctx.clock();
  const due = await ctx.store.dueQueuedTransactions(now, batch);
  let released = 0;
  for (const queued of due) {
    const policy = queued.policyName
      ? await loadPolicy(ctx, queued.workspaceId, queued.policyName)
      : undefined;
    const business = await ctx.store.getBusiness(queued.businessId);
    const result = await ctx.store.releaseQueued(
      queued.id,
      now,
      async (reader, txn): Promise<AdmissionPlan> => {
        if (!policy || !business) return { outcome: 'forward', decision: txn.decision };
        const input = {
          policy,
          request: txn.request,
          amount: txn.amount,
          currency: txn.currency ?? requestCurrency(txn.request, policy.currency),
          business,
          agentId: txn.agentId,
          now,
        };
        return planFor(decide(input, await gatherFacts(input, reader)), txn.id, now);
      },
    );
    if (!result) continue;
    released += 1;
    if (result.plan.outcome === 'forward' && business) {
      await forwardAdmitted({
        ctx,
        transaction: result.transaction,
        adapter: ctx.adapters.adapterFor(business),
      });
    }
  }
  return released;
}

export function startReleaseJob(ctx: Services, everyMs = 1000): Job {
  return startPeriodicJob('queued release', () => releaseDue(ctx), { everyMs, logger: ctx.logger });
}
