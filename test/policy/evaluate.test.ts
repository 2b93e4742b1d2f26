import { describe, expect, it } from 'vitest';
import {
  clearCompiledPolicyCache,
  compiledPolicyCacheSize,
  compilePolicy,
  getCompiledPolicy,
  limitApplies,
  validatePolicy,
} from '../../policy/index.ts';
import { DESIGN_EXAMPLE, facts, policy, WEDNESDAY_NOON } from './fixtures.ts';

const stages = [
  { stage_index: 0, role: 'approver', approval_timeout_seconds: 3600 },
  {
    stage_index: 1,
    role: 'admin',
    tier: 'critical_otp',
    quorum: 2,
    approval_timeout_seconds: 7200,
    on_approval_timeout: 'escalate_next',
  },
  { stage_index: 2, role: 'admin', approval_timeout_seconds: 600 },
];
let n = 0;
const compile = (doc: unknown) =>
  compilePolicy(policy(doc), { name: 'test', version: 7, versionId: `v-${++n}` });
const indexes = (d: { stages?: readonly { index: number }[] }) => d.stages?.map((s) => s.index);

describe('rules', () => {
  it('run by ascending priority, then document order; the first match wins', () => {
    const p = compile({
      routing_stages: stages,
      rules: [
        { id: 'late', priority: 20, action: 'reject', reason: 'late' },
        {
          id: 'tie-first',
          priority: 10,
          conditions: [{ field: 'x', op: 'eq', value: 1 }],
          action: 'require_approval',
          stage_index: 1,
        },
        { id: 'tie-second', priority: 10, action: 'auto_approve' },
        {
          id: 'early',
          priority: -5,
          conditions: [{ field: 'x', op: 'eq', value: 2 }],
          action: 'multi_stage',
          routing_stage_indexes: [2, 0],
        },
      ],
    });
    expect(p.evaluate(facts({ request: { x: 1 } }))).toMatchObject({
      outcome: 'approval',
      ruleId: 'tie-first',
    });
    expect(indexes(p.evaluate(facts({ request: { x: 1 } })))).toEqual([1]);
    expect(p.evaluate(facts({ request: { x: 3 } }))).toMatchObject({
      outcome: 'auto_approve',
      ruleId: 'tie-second',
    });
    const multi = p.evaluate(facts({ request: { x: 2 } }));
    expect(multi).toMatchObject({ outcome: 'approval', ruleId: 'early' });
    expect(indexes(multi)).toEqual([0, 2]);
  });

  it('no match gives default_action (auto_approve by default)', () => {
    expect(compile({}).evaluate(facts())).toMatchObject({ outcome: 'auto_approve', ruleId: undefined });
    const reject = compile({ default_action: 'reject' }).evaluate(facts());
    expect(reject).toMatchObject({ outcome: 'reject', ruleId: 'default_action:reject' });
    expect(reject.reason).toMatch(/default_action is reject/);
    const approve = compile({ default_action: 'require_approval', routing_stages: stages.slice(1) }).evaluate(
      facts(),
    );
    expect(approve).toMatchObject({ outcome: 'approval', ruleId: 'default_action:require_approval' });
    expect(indexes(approve)).toEqual([1]); // the lowest defined stage
  });

  it('require_approval defaults to stage 0 and carries the stage definitions', () => {
    const d = compile({
      routing_stages: stages,
      rules: [{ id: 'a', action: 'require_approval', reason: 'look' }],
    }).evaluate(facts());
    expect(d).toMatchObject({ outcome: 'approval', ruleId: 'a', reason: 'look' });
    expect(d.stages).toEqual([
      { index: 0, role: 'approver', tier: 'standard', quorum: 1, timeoutSeconds: 3600, onTimeout: 'reject' },
    ]);
    const multi = compile({
      routing_stages: stages,
      rules: [{ id: 'm', action: 'multi_stage', routing_stage_indexes: [1, 1, 0] }],
    }).evaluate(facts());
    expect(multi.stages).toEqual([
      { index: 0, role: 'approver', tier: 'standard', quorum: 1, timeoutSeconds: 3600, onTimeout: 'reject' },
      {
        index: 1,
        role: 'admin',
        tier: 'critical_otp',
        quorum: 2,
        timeoutSeconds: 7200,
        onTimeout: 'escalate_next',
      },
    ]);
  });

  it('each approval decision gets its own stages array', () => {
    const p = compile({ routing_stages: stages, rules: [{ id: 'a', action: 'require_approval' }] });
    const first = p.evaluate(facts());
    first.stages?.splice(0);
    expect(indexes(p.evaluate(facts()))).toEqual([0]);
  });

  it('a stage without approval_timeout_seconds gets the one-day default', () => {
    const d = compile({
      routing_stages: [{ stage_index: 0, role: 'admin' }],
      rules: [{ id: 'a', action: 'require_approval' }],
    }).evaluate(facts());
    expect(d.stages?.[0]?.timeoutSeconds).toBe(86_400);
  });
});

describe('categories', () => {
  it('block rejects the listed categories only', () => {
    const p = compile({ categories: { block: ['gambling'] } });
    const d = p.evaluate(facts({ business: { id: 'casino', category: 'gambling' } }));
    expect(d).toMatchObject({ outcome: 'reject', ruleId: 'category:block' });
    expect(d.reason).toBe('Business category "gambling" is blocked');
    expect(d.checks).toContainEqual({
      control: 'category',
      id: 'block',
      result: 'fail',
      detail: d.reason,
    });
    expect(p.evaluate(facts()).outcome).toBe('auto_approve');
  });

  it('allow rejects everything else', () => {
    const p = compile({ categories: { allow: ['food', 'travel'] } });
    expect(p.evaluate(facts({ business: { id: 'b', category: 'travel' } })).outcome).toBe('auto_approve');
    expect(p.evaluate(facts())).toMatchObject({ outcome: 'reject', ruleId: 'category:allow' });
    expect(compile({ categories: { allow: [] } }).evaluate(facts()).outcome).toBe('reject');
    expect(
      compile({ categories: {} })
        .evaluate(facts())
        .checks.some((c) => c.control === 'category'),
    ).toBe(false);
  });
});

describe('spending limits', () => {
  const limits = {
    spending_limits: [
      { id: 'per-order', amount: 10_000, interval: 'per_transaction' },
      { id: 'daily', amount: 50_000, interval: 'day' },
      { id: 'food', amount: 20_000, interval: 'month', window: 'calendar', categories: ['food'] },
      { id: 'eur', amount: 100, interval: 'week', currency: 'EUR' },
    ],
  } as const;

  it('pass when counted + amount ≤ limit; per_transaction compares the amount alone', () => {
    const p = compile(limits);
    expect(p.evaluate(facts({ amount: 10_000, spend: { daily: 40_000 } })).outcome).toBe('auto_approve');
    const over = p.evaluate(facts({ amount: 10_000, spend: { daily: 40_001 } }));
    expect(over).toMatchObject({ outcome: 'reject', ruleId: 'spending_limit:daily' });
    expect(over.reason).toBe('Spending limit "daily" exceeded: 40001 counted + 10000 > 50000 per day');
    const big = p.evaluate(facts({ amount: 10_001, spend: { 'per-order': 999_999 } }));
    expect(big).toMatchObject({ outcome: 'reject', ruleId: 'spending_limit:per-order' });
    // A missing spend entry counts as nothing.
    expect(p.evaluate(facts({ amount: 9_000, spend: {} })).outcome).toBe('auto_approve');
  });

  it('apply only to their categories and currency', () => {
    const p = compile(limits);
    expect(p.evaluate(facts({ amount: 5_000, spend: { food: 19_000 } })).outcome).toBe('auto_approve');
    const food = p.evaluate(
      facts({ amount: 5_000, spend: { food: 19_000 }, business: { id: 'b', category: 'food' } }),
    );
    expect(food).toMatchObject({ outcome: 'reject', ruleId: 'spending_limit:food' });
    // The EUR limit is ignored for USD requests, and the USD ones for EUR requests.
    expect(p.evaluate(facts({ amount: 5_000, spend: { eur: 100 } })).outcome).toBe('auto_approve');
    const eur = p.evaluate(facts({ amount: 50, currency: 'EUR', spend: { eur: 60, daily: 1_000_000 } }));
    expect(eur).toMatchObject({ outcome: 'reject', ruleId: 'spending_limit:eur' });
    expect(eur.checks.find((c) => c.id === 'daily')).toEqual({
      control: 'spending_limit',
      id: 'daily',
      result: 'pass',
      detail: 'Not applicable: the limit is in USD',
    });
  });

  it('an unknown amount passes every limit and says so', () => {
    const d = compile(limits).evaluate(facts({ amount: null, spend: { daily: 10_000_000 } }));
    expect(d.outcome).toBe('auto_approve');
    const daily = d.checks.find((c) => c.id === 'daily');
    expect(daily?.result).toBe('pass');
    expect(daily?.detail).toMatch(/no readable amount/);
  });

  it('on_limit_exceeded require_approval asks the lowest stage instead of rejecting', () => {
    const p = compile({ ...limits, on_limit_exceeded: 'require_approval', routing_stages: stages.slice(1) });
    const d = p.evaluate(facts({ amount: 20_000, spend: { daily: 40_000 } }));
    expect(d).toMatchObject({ outcome: 'approval', ruleId: 'spending_limit:per-order' });
    expect(indexes(d)).toEqual([1]);
    expect(d.checks.filter((c) => c.result === 'fail').map((c) => c.id)).toEqual(['per-order', 'daily']);
  });

  it('a zero limit refuses any positive amount and allows zero', () => {
    const p = compile({ spending_limits: [{ id: 'none', amount: 0, interval: 'all_time' }] });
    expect(p.evaluate(facts({ amount: 0 })).outcome).toBe('auto_approve');
    expect(p.evaluate(facts({ amount: 1 })).outcome).toBe('reject');
  });
});

describe('time windows', () => {
  const hours = {
    allow: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '20:00' }],
  } as const;
  const saturday = Date.UTC(2025, 0, 18, 12);

  it('outside reject (default) refuses', () => {
    const p = compile({ timezone: 'Europe/Berlin', time_windows: hours });
    expect(p.evaluate(facts()).outcome).toBe('auto_approve');
    expect(p.evaluate(facts({ now: saturday }))).toMatchObject({
      outcome: 'reject',
      ruleId: 'time_window:outside',
    });
  });

  it('outside queue parks the request until the next window opens', () => {
    const p = compile({ timezone: 'Europe/Berlin', time_windows: { ...hours, outside: 'queue' } });
    const d = p.evaluate(facts({ now: saturday }));
    expect(d).toMatchObject({
      outcome: 'queue',
      ruleId: 'time_window:outside',
      releaseAt: '2025-01-20T07:00:00.000Z',
    });
    expect(d.stages).toBeUndefined();
  });

  it('a window over midnight queues until its start', () => {
    const p = compile({
      timezone: 'America/New_York',
      time_windows: { allow: [{ days: ['sat'], start: '22:00', end: '06:00' }], outside: 'queue' },
    });
    // Sunday 05:30 New York is inside Saturday's window.
    expect(p.evaluate(facts({ now: Date.UTC(2025, 0, 19, 10, 30) })).outcome).toBe('auto_approve');
    // Sunday 06:00 is outside; next opening Saturday 25 Jan 22:00 EST = Sunday 03:00 UTC.
    expect(p.evaluate(facts({ now: Date.UTC(2025, 0, 19, 11) })).releaseAt).toBe('2025-01-26T03:00:00.000Z');
  });
});

describe('confirmation', () => {
  const confirm = (c: Record<string, unknown>) => compile({ routing_stages: stages, confirmation: c });

  it('always, above_amount (strictly above) and first_time_business each require approval at stage_index', () => {
    expect(confirm({ always: true }).evaluate(facts())).toMatchObject({
      outcome: 'approval',
      ruleId: 'confirmation:always',
    });
    expect(indexes(confirm({ always: true, stage_index: 2 }).evaluate(facts()))).toEqual([2]);
    expect(confirm({ always: false }).evaluate(facts()).outcome).toBe('auto_approve');
    expect(confirm({ above_amount: 1000 }).evaluate(facts({ amount: 1000 })).outcome).toBe('auto_approve');
    const above = confirm({ above_amount: 1000 }).evaluate(facts({ amount: 1001 }));
    expect(above).toMatchObject({ outcome: 'approval', ruleId: 'confirmation:above_amount' });
    expect(above.reason).toBe('Confirmation required: amount 1001 is above 1000');
    expect(confirm({ above_amount: 0 }).evaluate(facts({ amount: null })).outcome).toBe('auto_approve');
    expect(confirm({ first_time_business: true }).evaluate(facts({ firstTimeBusiness: true }))).toMatchObject(
      {
        outcome: 'approval',
        ruleId: 'confirmation:first_time_business',
      },
    );
    expect(confirm({ first_time_business: true }).evaluate(facts()).outcome).toBe('auto_approve');
  });
});

describe('strictest combination', () => {
  const doc = {
    timezone: 'Europe/Berlin',
    routing_stages: stages,
    categories: { block: ['gambling'] },
    spending_limits: [{ id: 'daily', amount: 5000, interval: 'day' }],
    time_windows: {
      allow: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '20:00' }],
      outside: 'queue',
    },
    confirmation: { above_amount: 2000, stage_index: 2 },
    rules: [
      {
        id: 'vip',
        conditions: [{ field: 'vip', op: 'eq', value: true }],
        action: 'auto_approve',
        reason: 'trusted',
      },
      {
        id: 'two',
        conditions: [{ field: 'two', op: 'exists' }],
        action: 'multi_stage',
        routing_stage_indexes: [1, 2],
      },
      { id: 'no', conditions: [{ field: 'no', op: 'exists' }], action: 'reject', reason: 'no' },
    ],
  } as const;
  const saturday = Date.UTC(2025, 0, 18, 12);

  it('reject beats queue beats approval beats auto_approve', () => {
    const p = compile(doc);
    expect(p.evaluate(facts({ request: { vip: true } }))).toMatchObject({
      outcome: 'auto_approve',
      ruleId: 'vip',
      reason: 'trusted',
    });
    expect(p.evaluate(facts({ amount: 2500, request: { vip: true } }))).toMatchObject({
      outcome: 'approval',
      ruleId: 'confirmation:above_amount',
    });
    expect(p.evaluate(facts({ amount: 2500, now: saturday }))).toMatchObject({ outcome: 'queue' });
    expect(p.evaluate(facts({ now: saturday, spend: { daily: 4500 } }))).toMatchObject({
      outcome: 'reject',
      ruleId: 'spending_limit:daily',
    });
  });

  it('reject names the first failing control in the order rule, category, spending_limit, time_window', () => {
    const p = compile(doc);
    const all = facts({
      request: { no: 1 },
      business: { id: 'c', category: 'gambling' },
      spend: { daily: 9999 },
      now: saturday,
    });
    expect(p.evaluate(all)).toMatchObject({ outcome: 'reject', ruleId: 'no', reason: 'no' });
    expect(p.evaluate({ ...all, request: {} })).toMatchObject({ ruleId: 'category:block' });
    expect(p.evaluate({ ...all, request: {}, business: { id: 'c', category: 'food' } })).toMatchObject({
      ruleId: 'spending_limit:daily',
    });
    const windowOnly = compile({ ...doc, time_windows: { ...doc.time_windows, outside: 'reject' } });
    expect(
      windowOnly.evaluate({ ...all, request: {}, business: { id: 'c', category: 'food' }, spend: {} }),
    ).toMatchObject({
      ruleId: 'time_window:outside',
    });
  });

  it('approval unions the stages of every source, in stage order, without duplicates', () => {
    const p = compile({ ...doc, on_limit_exceeded: 'require_approval' });
    const d = p.evaluate(facts({ amount: 3000, request: { two: 1 }, spend: { daily: 4000 } }));
    expect(d.outcome).toBe('approval');
    expect(d.ruleId).toBe('two'); // the rule is the first approval source
    expect(indexes(d)).toEqual([0, 1, 2]); // rule [1,2] + limit [0] + confirmation [2]
    const limitAndConfirm = p.evaluate(facts({ amount: 3000, spend: { daily: 4000 } }));
    expect(limitAndConfirm.ruleId).toBe('spending_limit:daily');
    expect(indexes(limitAndConfirm)).toEqual([0, 2]);
  });

  it('every configured control reports a check, in a fixed order', () => {
    const d = compile(doc).evaluate(facts({ amount: 100, spend: { daily: 100 } }));
    expect(d.checks).toEqual([
      {
        control: 'rule',
        id: 'default_action:auto_approve',
        result: 'pass',
        detail: 'No rule matched; default_action auto_approve',
      },
      {
        control: 'category',
        id: 'block',
        result: 'pass',
        detail: 'Business category "retail" is not blocked',
      },
      {
        control: 'spending_limit',
        id: 'daily',
        result: 'pass',
        detail: 'Spend 200 of 5000 per rolling day, this request included',
      },
      { control: 'time_window', result: 'pass', detail: 'Inside an allowed time window' },
      { control: 'confirmation', result: 'pass', detail: 'No confirmation requirement applies' },
    ]);
    expect(d.policy).toEqual({ name: 'test', version: 7 });
    expect(JSON.parse(JSON.stringify(d))).toEqual({
      outcome: 'auto_approve',
      checks: d.checks,
      policy: d.policy,
    });
  });

  it('the DESIGN example: big travel needs two stages, gift cards are refused', () => {
    const p = compile(DESIGN_EXAMPLE);
    const travel = { id: 'fly', category: 'travel' };
    const big = p.evaluate(facts({ request: { amount_cents: 20_000 }, amount: 20_000, business: travel }));
    // per-order (10,000) also fails: reject beats approval.
    expect(big).toMatchObject({ outcome: 'reject', ruleId: 'spending_limit:per-order' });
    const gift = p.evaluate(facts({ request: { item: '1 gift card' } }));
    expect(gift).toMatchObject({
      outcome: 'reject',
      ruleId: 'no-gift-cards',
      reason: 'Gift cards are not allowed',
    });
    expect(p.evaluate(facts({ amount: 2600 })).ruleId).toBe('confirmation:above_amount');
    expect(p.evaluate(facts({ now: Date.UTC(2025, 0, 15, 19, 30) })).releaseAt).toBe(
      '2025-01-16T07:00:00.000Z',
    );
  });
});

describe('overrides', () => {
  const doc = {
    routing_stages: stages,
    categories: { block: ['gambling'] },
    spending_limits: [
      { id: 'daily', amount: 1000, interval: 'day' },
      { id: 'weekly', amount: 5000, interval: 'week' },
    ],
    confirmation: { always: true },
    rules: [
      { id: 'base', conditions: [{ field: 'x', op: 'exists' }], action: 'reject', reason: 'base' },
      {
        id: 'base-low',
        priority: -100,
        conditions: [{ field: 'low', op: 'exists' }],
        action: 'reject',
        reason: 'base-low',
      },
    ],
    business_overrides: {
      acme: {
        spending_limits: [
          { id: 'daily', amount: 3000, interval: 'day' },
          { id: 'acme-only', amount: 100, interval: 'per_transaction' },
        ],
        categories: { allow: ['gambling'] },
        confirmation: null,
        rules: [
          { id: 'biz', priority: 50, conditions: [{ field: 'x', op: 'exists' }], action: 'auto_approve' },
          {
            id: 'biz-y',
            conditions: [{ field: 'y', op: 'exists' }],
            action: 'require_approval',
            stage_index: 1,
          },
        ],
      },
    },
    agent_overrides: {
      bot: {
        spending_limits: [{ id: 'daily', amount: 10, interval: 'day' }],
        confirmation: { above_amount: 500, stage_index: 2 },
        rules: [
          {
            id: 'agent',
            priority: 99,
            conditions: [{ field: 'y', op: 'exists' }],
            action: 'reject',
            reason: 'agent',
          },
        ],
      },
    },
  } as const;
  const p = compile(doc);

  it('limits merge by id: same id replaces in place, new ids append', () => {
    expect(p.limitsFor('other', 'someone').map((l) => [l.id, l.amount])).toEqual([
      ['daily', 1000],
      ['weekly', 5000],
    ]);
    expect(p.limitsFor('acme', 'someone').map((l) => [l.id, l.amount])).toEqual([
      ['daily', 3000],
      ['weekly', 5000],
      ['acme-only', 100],
    ]);
    // The agent override stacks on top of the business override.
    expect(p.limitsFor('acme', 'bot').map((l) => [l.id, l.amount])).toEqual([
      ['daily', 10],
      ['weekly', 5000],
      ['acme-only', 100],
    ]);
    expect(p.limitsFor('other', 'bot').map((l) => [l.id, l.amount])).toEqual([
      ['daily', 10],
      ['weekly', 5000],
    ]);
    expect(p.limitsFor('acme', 'bot')[0]).toEqual({
      id: 'daily',
      amount: 10,
      interval: 'day',
      window: 'rolling',
      currency: 'USD',
    });
  });

  it('categories and confirmation replace; null removes', () => {
    const casino = { id: 'acme', category: 'gambling' };
    expect(p.evaluate(facts({ business: casino, amount: 50 })).outcome).toBe('auto_approve'); // allow list, no confirmation
    expect(p.evaluate(facts({ business: { id: 'acme', category: 'food' }, amount: 50 })).ruleId).toBe(
      'category:allow',
    );
    expect(p.evaluate(facts({ amount: 50 })).ruleId).toBe('confirmation:always');
    expect(p.evaluate(facts({ business: casino, agentId: 'bot', amount: 5 })).outcome).toBe('auto_approve');
    const bot = p.evaluate(facts({ business: casino, agentId: 'bot', amount: 501, spend: { daily: 0 } }));
    expect(bot.checks.find((c) => c.control === 'confirmation')?.id).toBe('above_amount');
  });

  it('override rules run before base rules: agent, then business, then base, whatever the priority', () => {
    const acme = { id: 'acme', category: 'gambling' };
    // base "x" rejects; acme's "biz" (priority 50) auto-approves first.
    expect(p.evaluate(facts({ request: { x: 1 }, amount: 5 })).ruleId).toBe('base');
    expect(p.evaluate(facts({ request: { x: 1 }, business: acme, amount: 5 }))).toMatchObject({
      outcome: 'auto_approve',
      ruleId: 'biz',
    });
    // base-low has priority -100, but override rules still come first.
    expect(p.evaluate(facts({ request: { x: 1, low: 1 }, business: acme, amount: 5 })).ruleId).toBe('biz');
    expect(p.evaluate(facts({ request: { low: 1 }, business: acme, amount: 5 })).ruleId).toBe('base-low');
    // Within the business override, priority orders its own rules.
    expect(p.evaluate(facts({ request: { x: 1, y: 1 }, business: acme, amount: 5 })).ruleId).toBe('biz-y');
    // The agent's rule runs before the business's.
    expect(p.evaluate(facts({ request: { y: 1 }, business: acme, agentId: 'bot', amount: 5 })).ruleId).toBe(
      'agent',
    );
    expect(p.evaluate(facts({ request: { y: 1 }, agentId: 'bot', amount: 5 })).ruleId).toBe('agent');
  });

  it('limits from an override are enforced', () => {
    const d = p.evaluate(
      facts({ business: { id: 'acme', category: 'gambling' }, agentId: 'bot', amount: 11 }),
    );
    expect(d).toMatchObject({ outcome: 'reject', ruleId: 'spending_limit:daily' });
    expect(p.evaluate(facts({ business: { id: 'acme', category: 'gambling' }, amount: 101 })).ruleId).toBe(
      'spending_limit:acme-only',
    );
  });

  it('views are memoised per business/agent pair', () => {
    expect(p.limitsFor('acme', 'bot')).toBe(p.limitsFor('acme', 'bot'));
    expect(p.limitsFor('x', 'y')).toBe(p.limitsFor('z', 'w')); // no overrides: the base view
    expect(Object.isFrozen(p.limitsFor('acme', 'bot'))).toBe(true);
  });
});

describe('compiled policy', () => {
  it('exposes name, version, zone, currency and windowStartFor', () => {
    const p = compilePolicy(
      policy({
        timezone: 'Europe/Berlin',
        currency: 'EUR',
        spending_limits: [{ id: 'm', amount: 1, interval: 'month', window: 'calendar' }],
      }),
      {
        name: 'default',
        version: 3,
        versionId: 'pv_1',
      },
    );
    expect([p.name, p.version, p.versionId, p.timezone, p.currency]).toEqual([
      'default',
      3,
      'pv_1',
      'Europe/Berlin',
      'EUR',
    ]);
    const [limit] = p.limitsFor('b', 'a');
    expect(limit).toBeDefined();
    if (!limit) return;
    expect(p.windowStartFor(limit, WEDNESDAY_NOON)).toBe(Date.UTC(2024, 11, 31, 23));
    expect(limitApplies(limit, 'retail', 'EUR')).toBe(true);
    expect(limitApplies(limit, 'retail', 'USD')).toBe(false);
    expect(limitApplies({ ...limit, categories: ['food'] }, 'retail', 'EUR')).toBe(false);
  });

  it('getCompiledPolicy compiles once per version id and evicts the least recently used', () => {
    clearCompiledPolicyCache();
    const doc = policy({});
    const a = getCompiledPolicy(doc, { name: 'p', version: 1, versionId: 'a' });
    expect(getCompiledPolicy(doc, { name: 'p', version: 1, versionId: 'a' })).toBe(a);
    const filled = Array.from({ length: 999 }, (_, i) =>
      getCompiledPolicy(doc, { name: 'p', version: i, versionId: `fill-${i}` }),
    );
    expect(compiledPolicyCacheSize()).toBe(1000);
    getCompiledPolicy(doc, { name: 'p', version: 1, versionId: 'a' }); // touch: now the most recent
    getCompiledPolicy(doc, { name: 'p', version: 1, versionId: 'new' }); // evicts fill-0, the least recent
    expect(compiledPolicyCacheSize()).toBe(1000);
    expect(getCompiledPolicy(doc, { name: 'p', version: 1, versionId: 'a' })).toBe(a);
    expect(getCompiledPolicy(doc, { name: 'p', version: 1, versionId: 'fill-1' })).toBe(filled[1]);
    expect(getCompiledPolicy(doc, { name: 'p', version: 0, versionId: 'fill-0' })).not.toBe(filled[0]);
    clearCompiledPolicyCache();
    expect(compiledPolicyCacheSize()).toBe(0);
  });
});

describe('usesHistory tells the gateway whether to look up first-time-business', () => {
  it('is true only when a trigger or condition reads it, overrides included', () => {
    const compile = (doc: unknown) => {
      const parsed = validatePolicy(doc);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      return compilePolicy(parsed.policy, { name: 'p', version: 1, versionId: `pv_${Math.random()}` });
    };
    const stages = [{ stage_index: 0, role: 'approver' }];
    expect(compile({}).usesHistory).toBe(false);
    expect(compile({ confirmation: { first_time_business: true }, routing_stages: stages }).usesHistory).toBe(
      true,
    );
    expect(
      compile({
        business_overrides: {
          b: {
            rules: [
              {
                id: 'r',
                conditions: [{ context: 'history.first_time_business', op: 'eq', value: true }],
                action: 'reject',
                reason: 'new',
              },
            ],
          },
        },
      }).usesHistory,
    ).toBe(true);
  });
});
