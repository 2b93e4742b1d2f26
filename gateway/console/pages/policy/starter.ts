import { pretty } from './document.tsx';

/**
 * What the editor holds before a workspace has a policy (issue 21): a rule that parks orders over
 * $100.00 for an approver and a daily spending limit, so the first save already shows the two
 * things most workspaces want and the shape of each. test/console checks that it validates.
 */
export const STARTER_DOCUMENT = {
  currency: 'USD',
  rules: [
    {
      id: 'large-orders',
      conditions: [{ context: 'amount', op: 'gt', value: 10_000 }],
      action: 'require_approval',
      stage_index: 0,
      reason: 'Orders over $100.00 need an approver',
    },
  ],
  routing_stages: [
    { stage_index: 0, role: 'approver', approval_timeout_seconds: 86_400, on_approval_timeout: 'reject' },
  ],
  spending_limits: [{ id: 'daily', amount: 50_000, interval: 'day' }],
};

export const STARTER = pretty(STARTER_DOCUMENT);
