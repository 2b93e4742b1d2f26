import { describe, expect, it } from 'vitest';
import { regexProblem, validatePolicy } from '../../policy/index.ts';
import { DESIGN_EXAMPLE } from './fixtures.ts';

const stage0 = { stage_index: 0, role: 'approver', approval_timeout_seconds: 3600 };
const rule = (extra: Record<string, unknown>) => ({
  id: 'r1',
  conditions: [{ field: 'amount', op: 'gt', value: 1 }],
  action: 'auto_approve',
  ...extra,
});

function pathsOf(input: unknown, options?: { minApprovalTimeoutSeconds?: number }): string[] {
  const result = validatePolicy(input, options);
  return result.ok ? [] : result.issues.map((i) => i.path);
}

describe('validatePolicy', () => {
  it('accepts the DESIGN §6 example and applies defaults', () => {
    const result = validatePolicy(DESIGN_EXAMPLE);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.rules[0]?.match).toBe('all');
    expect(result.policy.routing_stages[1]?.quorum).toBe(1);
    expect(result.policy.spending_limits[0]?.window).toBe('rolling');
  });

  it('fills the documented top-level defaults for an empty document', () => {
    const result = validatePolicy({});
    expect(result).toEqual({
      ok: true,
      policy: {
        timezone: 'UTC',
        currency: 'USD',
        default_action: 'auto_approve',
        spending_limits: [],
        on_limit_exceeded: 'reject',
        rules: [],
        routing_stages: [],
        business_overrides: {},
        agent_overrides: {},
      },
    });
  });

  it('rejects a document that is not an object at the root path', () => {
    expect(pathsOf('nope')).toEqual(['']);
    expect(pathsOf(null)).toEqual(['']);
    expect(pathsOf([])).toEqual(['']);
  });

  const invalid: [string, unknown, string][] = [
    [
      'both allow and block categories',
      { categories: { allow: ['food'], block: ['gambling'] } },
      'categories',
    ],
    [
      'both allow and block in an override',
      { business_overrides: { acme: { categories: { allow: ['a'], block: ['b'] } } } },
      'business_overrides.acme.categories',
    ],
    [
      'unknown operator',
      {
        rules: [
          rule({
            conditions: [
              { field: 'a', op: 'eq', value: 1 },
              { field: 'b', op: 'like', value: 'x' },
            ],
          }),
        ],
      },
      'rules.0.conditions.1.op',
    ],
    [
      'unknown operator in a nested group',
      { rules: [rule({ conditions: [{ any: [{ not: { field: 'a', op: 'equals', value: 1 } }] }] })] },
      'rules.0.conditions.0.any.0.not.op',
    ],
    [
      'require_approval naming a stage that does not exist',
      { routing_stages: [stage0], rules: [rule({ action: 'require_approval', stage_index: 3 })] },
      'rules.0.stage_index',
    ],
    [
      'multi_stage naming a stage that does not exist',
      { routing_stages: [stage0], rules: [rule({ action: 'multi_stage', routing_stage_indexes: [0, 2] })] },
      'rules.0.routing_stage_indexes.1',
    ],
    [
      'confirmation naming a stage that does not exist',
      { routing_stages: [stage0], confirmation: { always: true, stage_index: 1 } },
      'confirmation.stage_index',
    ],
    [
      'require_approval defaulting to a missing stage 0',
      { routing_stages: [{ ...stage0, stage_index: 1 }], rules: [rule({ action: 'require_approval' })] },
      'rules.0.stage_index',
    ],
    [
      'approval timeout below the minimum',
      { routing_stages: [{ ...stage0, approval_timeout_seconds: 59 }] },
      'routing_stages.0.approval_timeout_seconds',
    ],
    [
      'approval timeout above 30 days',
      { routing_stages: [stage0, { ...stage0, stage_index: 1, approval_timeout_seconds: 2_592_001 }] },
      'routing_stages.1.approval_timeout_seconds',
    ],
    [
      'duplicate limit ids',
      {
        spending_limits: [
          { id: 'a', amount: 1, interval: 'day' },
          { id: 'b', amount: 1, interval: 'day' },
          { id: 'a', amount: 2, interval: 'week' },
        ],
      },
      'spending_limits.2.id',
    ],
    [
      'duplicate limit ids inside an override',
      {
        agent_overrides: {
          bot: {
            spending_limits: [
              { id: 'x', amount: 1, interval: 'day' },
              { id: 'x', amount: 1, interval: 'hour' },
            ],
          },
        },
      },
      'agent_overrides.bot.spending_limits.1.id',
    ],
    ['unknown top-level key', { timezone: 'UTC', rulez: [] }, 'rulez'],
    ['unknown key inside a rule', { rules: [rule({ priorty: 1 })] }, 'rules.0.priorty'],
    [
      'unknown key inside a condition',
      { rules: [rule({ conditions: [{ field: 'a', op: 'eq', value: 1, flags: 'i' }] })] },
      'rules.0.conditions.0.flags',
    ],
    [
      'unknown key inside an override',
      { business_overrides: { acme: { timezone: 'UTC' } } },
      'business_overrides.acme.timezone',
    ],
    ['bad timezone', { timezone: 'Mars/Olympus_Mons' }, 'timezone'],
    [
      'bad HH:MM start',
      { time_windows: { allow: [{ days: ['mon'], start: '8:00', end: '20:00' }] } },
      'time_windows.allow.0.start',
    ],
    [
      'end equal to start',
      { time_windows: { allow: [{ days: ['mon'], start: '08:00', end: '08:00' }] } },
      'time_windows.allow.0.end',
    ],
    [
      'unknown weekday',
      { time_windows: { allow: [{ days: ['mon', 'funday'], start: '08:00', end: '20:00' }] } },
      'time_windows.allow.0.days.1',
    ],
    ['reject rule without a reason', { rules: [rule({ action: 'reject' })] }, 'rules.0.reason'],
    [
      'multi_stage without indexes',
      { routing_stages: [stage0], rules: [rule({ action: 'multi_stage' })] },
      'rules.0.routing_stage_indexes',
    ],
    [
      'multi_stage with an empty index list',
      { routing_stages: [stage0], rules: [rule({ action: 'multi_stage', routing_stage_indexes: [] })] },
      'rules.0.routing_stage_indexes',
    ],
    [
      'invalid regex',
      { rules: [rule({ conditions: [{ field: 'sku', op: 'matches', value: '([a-z' }] })] },
      'rules.0.conditions.0.value',
    ],
    [
      'regex with a lookahead (no linear-time engine runs it)',
      { rules: [rule({ conditions: [{ field: 'sku', op: 'matches', value: '^(?=a)b' }] })] },
      'rules.0.conditions.0.value',
    ],
    [
      'regex that is too long',
      { rules: [rule({ conditions: [{ field: 'sku', op: 'matches', value: 'a'.repeat(257) }] })] },
      'rules.0.conditions.0.value',
    ],
    [
      'negative limit amount',
      { spending_limits: [{ id: 'a', amount: -1, interval: 'day' }] },
      'spending_limits.0.amount',
    ],
    [
      'fractional limit amount',
      { spending_limits: [{ id: 'a', amount: 10.5, interval: 'day' }] },
      'spending_limits.0.amount',
    ],
    ['negative above_amount', { confirmation: { above_amount: -5 } }, 'confirmation.above_amount'],
    [
      'unknown interval',
      { spending_limits: [{ id: 'a', amount: 1, interval: 'fortnight' }] },
      'spending_limits.0.interval',
    ],
    [
      'unknown window',
      { spending_limits: [{ id: 'a', amount: 1, interval: 'day', window: 'sliding' }] },
      'spending_limits.0.window',
    ],
    ['lowercase currency', { currency: 'usd' }, 'currency'],
    [
      'limit currency that is not a 3-letter code',
      { spending_limits: [{ id: 'a', amount: 1, interval: 'day', currency: 'EURO' }] },
      'spending_limits.0.currency',
    ],
    ['duplicate rule ids', { rules: [rule({}), rule({ priority: 5 })] }, 'rules.1.id'],
    [
      'override rule reusing a base rule id',
      { rules: [rule({})], business_overrides: { acme: { rules: [rule({})] } } },
      'business_overrides.acme.rules.0.id',
    ],
    [
      'duplicate stage_index',
      { routing_stages: [stage0, { ...stage0, role: 'admin' }] },
      'routing_stages.1.stage_index',
    ],
    [
      'require_approval without routing stages',
      { rules: [rule({ action: 'require_approval' })] },
      'rules.0.action',
    ],
    ['confirmation without routing stages', { confirmation: { above_amount: 100 } }, 'confirmation'],
    [
      'confirmation in an override without routing stages',
      { agent_overrides: { bot: { confirmation: { first_time_business: true } } } },
      'agent_overrides.bot.confirmation',
    ],
    [
      'on_limit_exceeded require_approval without routing stages',
      { on_limit_exceeded: 'require_approval' },
      'on_limit_exceeded',
    ],
    [
      'default_action require_approval without routing stages',
      { default_action: 'require_approval' },
      'default_action',
    ],
    ['unknown role', { routing_stages: [{ ...stage0, role: 'manager' }] }, 'routing_stages.0.role'],
    [
      'unknown context fact',
      { rules: [rule({ conditions: [{ context: 'user.id', op: 'eq', value: 'x' }] })] },
      'rules.0.conditions.0.context',
    ],
    [
      'spend context naming no limit',
      { rules: [rule({ conditions: [{ context: 'spend.weekly', op: 'gt', value: 1 }] })] },
      'rules.0.conditions.0.context',
    ],
    [
      'condition with both field and context',
      { rules: [rule({ conditions: [{ field: 'a', context: 'amount', op: 'eq', value: 1 }] })] },
      'rules.0.conditions.0',
    ],
    [
      'gt with a string value',
      { rules: [rule({ conditions: [{ field: 'a', op: 'gt', value: '5' }] })] },
      'rules.0.conditions.0.value',
    ],
    [
      'in without an array',
      { rules: [rule({ conditions: [{ field: 'a', op: 'in', value: 'x' }] })] },
      'rules.0.conditions.0.value',
    ],
    [
      'eq without a value',
      { rules: [rule({ conditions: [{ field: 'a', op: 'eq' }] })] },
      'rules.0.conditions.0.value',
    ],
    [
      'empty path segment',
      { rules: [rule({ conditions: [{ field: 'a..b', op: 'exists' }] })] },
      'rules.0.conditions.0.field',
    ],
    [
      '__proto__ path segment',
      { rules: [rule({ conditions: [{ field: '__proto__.x', op: 'exists' }] })] },
      'rules.0.conditions.0.field',
    ],
    [
      'stage_index on a non-approval rule',
      { routing_stages: [stage0], rules: [rule({ stage_index: 0 })] },
      'rules.0.stage_index',
    ],
    ['rule id with a colon', { rules: [rule({ id: 'category:block' })] }, 'rules.0.id'],
    ['non-integer priority', { rules: [rule({ priority: 1.5 })] }, 'rules.0.priority'],
    [
      'time window without days',
      { time_windows: { allow: [{ days: [], start: '08:00', end: '09:00' }] } },
      'time_windows.allow.0.days',
    ],
    [
      'unknown outside action',
      { time_windows: { allow: [{ days: ['mon'], start: '08:00', end: '09:00' }], outside: 'wait' } },
      'time_windows.outside',
    ],
  ];

  it.each(invalid)('rejects %s at the exact path', (_name, doc, path) => {
    expect(pathsOf(doc)).toEqual([path]);
  });

  it('reports issues with messages', () => {
    const result = validatePolicy({ categories: { allow: ['a'], block: ['b'] } });
    expect(result).toEqual({
      ok: false,
      issues: [{ path: 'categories', message: 'Use either allow or block, not both' }],
    });
  });

  it('reports every issue of a document at once', () => {
    expect(pathsOf({ currency: 'us', timezone: 'Nowhere/Land', bogus: 1 }).sort()).toEqual([
      'bogus',
      'currency',
      'timezone',
    ]);
  });

  it('raises the approval timeout minimum with APPROVAL_TIMEOUT_MIN_SECONDS', () => {
    const doc = { routing_stages: [{ ...stage0, approval_timeout_seconds: 600 }] };
    expect(pathsOf(doc)).toEqual([]);
    expect(pathsOf(doc, { minApprovalTimeoutSeconds: 600 })).toEqual([]);
    expect(pathsOf(doc, { minApprovalTimeoutSeconds: 601 })).toEqual([
      'routing_stages.0.approval_timeout_seconds',
    ]);
    // The one-day default must respect a raised minimum too.
    const implicit = { routing_stages: [{ stage_index: 0, role: 'approver' }] };
    expect(pathsOf(implicit)).toEqual([]);
    expect(pathsOf(implicit, { minApprovalTimeoutSeconds: 100_000 })).toEqual([
      'routing_stages.0.approval_timeout_seconds',
    ]);
  });

  it('accepts the documented optional forms', () => {
    const ok = validatePolicy({
      timezone: 'America/New_York',
      default_action: 'reject',
      categories: { allow: ['food'] },
      time_windows: {
        allow: [
          { days: ['fri'], start: '22:00', end: '02:00' },
          { days: ['sat'], start: '00:00', end: '24:00' },
        ],
      },
      spending_limits: [
        { id: 'w', amount: 0, interval: 'week', window: 'calendar', currency: 'EUR', categories: ['food'] },
      ],
      rules: [
        {
          id: 'any-all-not',
          match: 'any',
          conditions: [
            { all: [{ field: 'x', op: 'exists' }] },
            { not: { context: 'spend.w', op: 'gt', value: 5 } },
          ],
          action: 'auto_approve',
        },
        { id: 'absent', conditions: [{ field: 'x', op: 'exists', value: false }], action: 'auto_approve' },
        { id: 'no-conditions', action: 'auto_approve' },
      ],
      business_overrides: { acme: { categories: null, time_windows: null, confirmation: null, rules: [] } },
    });
    expect(ok.ok).toBe(true);
  });
});

describe('regexProblem (patterns the linear-time engine runs)', () => {
  it.each([
    '^[A-Z]{3}-\\d{4}$',
    '(ab)+',
    '(a+)?',
    'gift ?card',
    '^(?:foo|bar)$',
    '[(+*)]+',
    '(?<year>\\d{4})-\\d{2}',
    'a+?b',
    // Catastrophic for a backtracking engine, linear for RE2: accepted, and cheap (see the ReDoS suite).
    '(a+)+',
    '^(a|a)+$',
    '(\\w*)*',
    '^\\d*\\d*\\d*\\d*\\d*\\d*\\d*\\d*$',
  ])('accepts %s', (pattern) => {
    expect(regexProblem(pattern)).toBeNull();
  });
  it.each([
    ['(a)\\1', /linear time/],
    ['(?<x>a)\\k<x>', /linear time/],
    ['foo(?=bar)', /linear time/],
    ['(?<!x)y', /linear time/],
    ['[', /Invalid regular expression/],
    ['a{', /Invalid regular expression/],
    ['x'.repeat(257), /at most 256/],
  ])('refuses %s', (pattern, message) => {
    expect(regexProblem(pattern)).toMatch(message);
  });
});
