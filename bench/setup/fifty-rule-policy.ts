import { putPolicy } from '../../gateway/services/policy/policies.ts';
import { benchPolicyDocument } from '../policy-evaluator.ts';
import type { GatewaySetup } from '../servers/gateway.ts';

/**
 * The `default` policy for the "execute with a policy" scenario: the evaluator bench's 50 rules and
 * 3 limits, with limits large enough that a run never exhausts them (every request must succeed,
 * so both runs do the same work but the decision and the spend reservation).
 */
const setup: GatewaySetup = async (gateway, tenant) => {
  const document = benchPolicyDocument();
  document.spending_limits = [
    { id: 'per-order', amount: 100_000, interval: 'per_transaction' },
    { id: 'daily', amount: 1_000_000_000_000, interval: 'day', window: 'rolling' },
    {
      id: 'food-month',
      amount: 1_000_000_000_000,
      interval: 'month',
      window: 'calendar',
      categories: ['food'],
    },
  ];
  await putPolicy({
    ctx: {
      deps: gateway.deps,
      workspaceId: tenant.workspaceId,
      actor: { type: 'member', id: tenant.adminMemberId },
    },
    input: { name: 'default', document },
  });
};

export default setup;
