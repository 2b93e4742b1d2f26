import { requestCurrency } from '../../../policy/amount.ts';
import { getBusiness } from '../../repositories/tenancy.ts';
import { dueQueued } from '../../repositories/transactions.ts';
import type { Deps } from '../context.ts';
import { loadPolicy } from '../policy/index.ts';
import { admit } from './admission.ts';
import { forwardAdmitted } from './forward.ts';

/**
 * Releases queued executes when their time window opens (DESIGN §6): admitted again, so the policy
 * decides with live spend (limits re-checked, the request's own reservation left out), and what it
 * lets through is executed. Reads the database, so a restart or a second process changes nothing:
 * each release is one conditional step under the workspace scope.
 */
export async function releaseDue(deps: Deps, batch = 50): Promise<number> {
  const now = deps.clock();
  let released = 0;
  for (const queued of await dueQueued(deps.db.reader, now, batch)) {
    const policy = queued.policyName
      ? await loadPolicy(deps, queued.workspaceId, queued.policyName)
      : undefined;
    const business = queued.businessId ? await getBusiness(deps.db.reader, queued.businessId) : undefined;
    const decision =
      policy && business
        ? {
            policy,
            workspaceId: queued.workspaceId,
            request: queued.request,
            amount: queued.amount,
            currency: queued.currency ?? requestCurrency(queued.request, policy.currency),
            business,
            agentId: queued.agentId,
            now,
          }
        : undefined;
    const admission = await deps.db.transaction({ workspaceId: queued.workspaceId }, (tx) =>
      admit(tx, deps, { subject: { kind: 'queued', transaction: queued }, decision, now }),
    );
    if (admission.outcome === 'gone') continue;
    released += 1;
    if (admission.outcome === 'forward' && business) {
      await forwardAdmitted({
        deps,
        transaction: admission.transaction,
        adapter: deps.adapters.adapterFor(business),
      });
    }
  }
  return released;
}
