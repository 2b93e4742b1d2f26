import { getBusiness } from '../../repositories/tenancy.ts';
import { dueQueued } from '../../repositories/transactions.ts';
import { type Deps, jobContext } from '../context.ts';
import { loadPolicy } from '../policy/index.ts';
import { admitAndForward, inDeferredExecute } from './admission-workflow.ts';

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
    const ctx = jobContext(deps, 'release-queued', queued.workspaceId);
    const policy = queued.policyName
      ? await loadPolicy(deps, queued.workspaceId, queued.policyName)
      : undefined;
    const business = queued.businessId ? await getBusiness(deps.db.reader, queued.businessId) : undefined;
    const { admission } = await inDeferredExecute(ctx, { transaction: queued, cause: 'queue' }, (ctx) =>
      admitAndForward({
        ctx,
        input: { subject: { kind: 'queued', transaction: queued }, policy, business, now },
      }),
    );
    if (admission.outcome !== 'gone') released += 1;
  }
  return released;
}
