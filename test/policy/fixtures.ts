import type { Facts, PolicyDocument } from '../../policy/index.ts';
import { validatePolicy } from '../../policy/index.ts';

/** The example document of DESIGN §6, verbatim. */
export const DESIGN_EXAMPLE = {
  timezone: 'Europe/Berlin',
  currency: 'USD',
  default_action: 'auto_approve',
  categories: { block: ['gambling'] },
  spending_limits: [
    { id: 'per-order', amount: 10000, interval: 'per_transaction' },
    { id: 'daily', amount: 50000, interval: 'day', window: 'rolling' },
    { id: 'food-month', amount: 200000, interval: 'month', window: 'calendar', categories: ['food'] },
  ],
  on_limit_exceeded: 'reject',
  time_windows: {
    allow: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '20:00' }],
    outside: 'queue',
  },
  confirmation: { always: false, above_amount: 2500, first_time_business: true, stage_index: 0 },
  rules: [
    {
      id: 'no-gift-cards',
      priority: 10,
      conditions: [{ field: 'item', op: 'contains', value: 'gift card' }],
      action: 'reject',
      reason: 'Gift cards are not allowed',
    },
    {
      id: 'big-travel',
      priority: 20,
      match: 'all',
      conditions: [
        { field: 'amount_cents', op: 'gte', value: 20000 },
        { context: 'business.category', op: 'eq', value: 'travel' },
      ],
      action: 'multi_stage',
      routing_stage_indexes: [0, 1],
    },
  ],
  routing_stages: [
    {
      stage_index: 0,
      role: 'approver',
      tier: 'standard',
      quorum: 1,
      approval_timeout_seconds: 86400,
      on_approval_timeout: 'reject',
    },
    {
      stage_index: 1,
      role: 'admin',
      tier: 'critical_otp',
      approval_timeout_seconds: 3600,
      on_approval_timeout: 'escalate_next',
    },
  ],
  business_overrides: {
    'acme-travel': { spending_limits: [{ id: 'daily', amount: 150000, interval: 'day', window: 'rolling' }] },
  },
  agent_overrides: {},
};

/** Validates or throws with the issues, for tests that need a document. */
export function policy(input: unknown): PolicyDocument {
  const result = validatePolicy(input);
  if (!result.ok) throw new Error(`invalid test policy: ${JSON.stringify(result.issues)}`);
  return result.policy;
}

/** Wednesday 2025-01-15 12:00 UTC (13:00 in Berlin). */
export const WEDNESDAY_NOON = Date.UTC(2025, 0, 15, 12, 0);

export function facts(overrides: Partial<Facts> = {}): Facts {
  return {
    request: {},
    amount: 1000,
    currency: 'USD',
    business: { id: 'shop', category: 'retail' },
    agentId: 'agent-1',
    now: WEDNESDAY_NOON,
    spend: {},
    firstTimeBusiness: false,
    ...overrides,
  };
}
