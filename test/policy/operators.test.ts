import { describe, expect, it } from 'vitest';
import { requiredPrefix } from '../../policy/conditions.ts';
import { compilePolicy, type Facts } from '../../policy/index.ts';
import { facts, policy } from './fixtures.ts';

let version = 0;
/** Whether a single-condition reject rule matches. */
function holds(
  condition: unknown,
  request: Record<string, unknown> = {},
  extra: Partial<Facts> = {},
): boolean {
  const compiled = compilePolicy(
    policy({
      spending_limits: [{ id: 'daily', amount: 1_000_000, interval: 'day' }],
      rules: [{ id: 'r', conditions: [condition], action: 'reject', reason: 'matched' }],
    }),
    { name: 'ops', version: ++version, versionId: `ops-${version}` },
  );
  const decision = compiled.evaluate(facts({ request, ...extra }));
  return decision.ruleId === 'r';
}

const req = {
  amount: 2500,
  amount_cents: '3000',
  item: 'A gift card for Bob',
  tags: ['fragile', 'gift', 42],
  metadata: { region: 'eu-west', empty: '', zero: 0, nothing: null, flag: false },
  items: [{ sku: 'SKU-1', qty: 2 }, { sku: 'SKU-2' }],
};

describe('operators on request fields', () => {
  it('eq / neq: strict for strings and booleans, numeric strings count as numbers', () => {
    expect(holds({ field: 'metadata.region', op: 'eq', value: 'eu-west' }, req)).toBe(true);
    expect(holds({ field: 'metadata.region', op: 'eq', value: 'EU-WEST' }, req)).toBe(false);
    expect(holds({ field: 'amount', op: 'eq', value: 2500 }, req)).toBe(true);
    expect(holds({ field: 'amount_cents', op: 'eq', value: 3000 }, req)).toBe(true); // "3000"
    expect(holds({ field: 'amount_cents', op: 'eq', value: '3000' }, req)).toBe(true);
    expect(holds({ field: 'amount', op: 'eq', value: '2500' }, req)).toBe(false); // string policy value: strict
    expect(holds({ field: 'metadata.flag', op: 'eq', value: false }, req)).toBe(true);
    expect(holds({ field: 'metadata.zero', op: 'eq', value: false }, req)).toBe(false);
    expect(holds({ field: 'metadata.region', op: 'neq', value: 'us-east' }, req)).toBe(true);
    expect(holds({ field: 'metadata.region', op: 'neq', value: 'eu-west' }, req)).toBe(false);
    expect(holds({ field: 'amount_cents', op: 'neq', value: 3000 }, req)).toBe(false);
  });

  it('gt / gte / lt / lte compare numbers and numeric strings only', () => {
    expect(holds({ field: 'amount', op: 'gt', value: 2499 }, req)).toBe(true);
    expect(holds({ field: 'amount', op: 'gt', value: 2500 }, req)).toBe(false);
    expect(holds({ field: 'amount', op: 'gte', value: 2500 }, req)).toBe(true);
    expect(holds({ field: 'amount', op: 'lt', value: 2501 }, req)).toBe(true);
    expect(holds({ field: 'amount', op: 'lt', value: 2500 }, req)).toBe(false);
    expect(holds({ field: 'amount', op: 'lte', value: 2500 }, req)).toBe(true);
    expect(holds({ field: 'amount_cents', op: 'gte', value: 3000 }, req)).toBe(true);
    expect(holds({ field: 'amount_cents', op: 'gt', value: 3000 }, req)).toBe(false);
    expect(holds({ field: 'x', op: 'gt', value: 1.5 }, { x: '-2.5' })).toBe(false);
    expect(holds({ field: 'x', op: 'lt', value: 0 }, { x: '-2.5' })).toBe(true);
    // Not numbers: never ordered.
    expect(holds({ field: 'item', op: 'gt', value: 0 }, req)).toBe(false);
    expect(holds({ field: 'item', op: 'lt', value: 0 }, req)).toBe(false);
    expect(holds({ field: 'x', op: 'gte', value: 0 }, { x: '' })).toBe(false);
    expect(holds({ field: 'x', op: 'gte', value: 0 }, { x: '1e3' })).toBe(false);
    expect(holds({ field: 'x', op: 'gte', value: 0 }, { x: true })).toBe(false);
    expect(holds({ field: 'x', op: 'lte', value: 10 }, { x: [5] })).toBe(false);
  });

  it('in / not_in', () => {
    expect(holds({ field: 'metadata.region', op: 'in', value: ['us-east', 'eu-west'] }, req)).toBe(true);
    expect(holds({ field: 'metadata.region', op: 'in', value: ['us-east'] }, req)).toBe(false);
    expect(holds({ field: 'amount_cents', op: 'in', value: [1000, 3000] }, req)).toBe(true);
    expect(holds({ field: 'amount', op: 'in', value: ['2500'] }, req)).toBe(false);
    expect(holds({ field: 'metadata.flag', op: 'in', value: [false] }, req)).toBe(true);
    expect(holds({ field: 'metadata.region', op: 'in', value: [] }, req)).toBe(false);
    // A long list takes the hashed path.
    const many = Array.from({ length: 20 }, (_, i) => `r-${i}`);
    expect(holds({ field: 'metadata.region', op: 'in', value: [...many, 'eu-west'] }, req)).toBe(true);
    expect(holds({ field: 'metadata.region', op: 'in', value: many }, req)).toBe(false);
    expect(holds({ field: 'amount_cents', op: 'in', value: [...many, 3000] }, req)).toBe(true);
    expect(holds({ field: 'metadata.region', op: 'not_in', value: ['us-east'] }, req)).toBe(true);
    expect(holds({ field: 'metadata.region', op: 'not_in', value: ['eu-west'] }, req)).toBe(false);
    expect(holds({ field: 'metadata.region', op: 'not_in', value: [] }, req)).toBe(true);
  });

  it('contains: substring on strings (case-sensitive), element equality on arrays', () => {
    expect(holds({ field: 'item', op: 'contains', value: 'gift card' }, req)).toBe(true);
    expect(holds({ field: 'item', op: 'contains', value: 'Gift Card' }, req)).toBe(false);
    expect(holds({ field: 'tags', op: 'contains', value: 'gift' }, req)).toBe(true);
    expect(holds({ field: 'tags', op: 'contains', value: 'gif' }, req)).toBe(false); // elements, not substrings
    expect(holds({ field: 'tags', op: 'contains', value: 42 }, req)).toBe(true);
    expect(holds({ field: 'tags', op: 'contains', value: 43 }, req)).toBe(false);
    expect(holds({ field: 'amount', op: 'contains', value: 25 }, req)).toBe(false); // numbers are not strings
    expect(holds({ field: 'item', op: 'contains', value: 5 }, { item: 'a5' })).toBe(false);
  });

  it('starts_with and matches work on strings only', () => {
    expect(holds({ field: 'items.0.sku', op: 'starts_with', value: 'SKU-' }, req)).toBe(true);
    expect(holds({ field: 'items.0.sku', op: 'starts_with', value: 'sku-' }, req)).toBe(false);
    expect(holds({ field: 'amount', op: 'starts_with', value: '25' }, req)).toBe(false);
    expect(holds({ field: 'items.1.sku', op: 'matches', value: '^SKU-\\d$' }, req)).toBe(true);
    expect(holds({ field: 'items.1.sku', op: 'matches', value: '^SKU-\\d{2}$' }, req)).toBe(false);
    expect(holds({ field: 'item', op: 'matches', value: 'gift\\s+card' }, req)).toBe(true);
    expect(holds({ field: 'amount', op: 'matches', value: '^25' }, req)).toBe(false);
  });

  it('exists is the only operator true for a missing value; null counts as missing', () => {
    expect(holds({ field: 'metadata.region', op: 'exists' }, req)).toBe(true);
    expect(holds({ field: 'metadata.empty', op: 'exists' }, req)).toBe(true);
    expect(holds({ field: 'metadata.zero', op: 'exists' }, req)).toBe(true);
    expect(holds({ field: 'metadata.nothing', op: 'exists' }, req)).toBe(false);
    expect(holds({ field: 'metadata.nope', op: 'exists' }, req)).toBe(false);
    expect(holds({ field: 'metadata.nope', op: 'exists', value: false }, req)).toBe(true);
    expect(holds({ field: 'metadata.region', op: 'exists', value: false }, req)).toBe(false);
    const missing = 'metadata.nope';
    for (const [op, value] of [
      ['eq', 'x'],
      ['neq', 'x'],
      ['gt', 0],
      ['gte', 0],
      ['lt', 0],
      ['lte', 0],
      ['in', ['x']],
      ['not_in', ['x']],
      ['contains', 'x'],
      ['starts_with', ''],
      ['matches', '.*'],
    ] as const) {
      expect(holds({ field: missing, op, value }, req), op).toBe(false);
      expect(holds({ field: 'metadata.nothing', op, value }, req), `${op} on null`).toBe(false);
    }
  });

  it('paths index arrays, walk only objects, and ignore inherited properties', () => {
    expect(holds({ field: 'items.1.sku', op: 'eq', value: 'SKU-2' }, req)).toBe(true);
    expect(holds({ field: 'items.2.sku', op: 'exists' }, req)).toBe(false);
    expect(holds({ field: 'items.length', op: 'eq', value: 2 }, req)).toBe(true);
    expect(holds({ field: 'item.length', op: 'exists' }, req)).toBe(false); // strings are not walked
    expect(holds({ field: 'metadata.toString', op: 'exists' }, req)).toBe(false);
    expect(holds({ field: 'items.0.qty.x.y', op: 'exists' }, req)).toBe(false);
    expect(holds({ field: 'a.b.c.d', op: 'eq', value: 1 }, { a: { b: { c: { d: 1 } } } })).toBe(true);
    expect(holds({ field: 'a.0', op: 'eq', value: 'k' }, { a: { '0': 'k' } })).toBe(true);
  });
});

describe('operators on context facts', () => {
  it('reads amount, currency, business, agent and history', () => {
    expect(holds({ context: 'amount', op: 'gte', value: 1000 }, {}, { amount: 1000 })).toBe(true);
    expect(holds({ context: 'amount', op: 'exists' }, {}, { amount: null })).toBe(false);
    expect(holds({ context: 'amount', op: 'lt', value: 10 }, {}, { amount: null })).toBe(false);
    expect(holds({ context: 'currency', op: 'eq', value: 'EUR' }, {}, { currency: 'EUR' })).toBe(true);
    expect(holds({ context: 'business.id', op: 'starts_with', value: 'sh' })).toBe(true);
    expect(holds({ context: 'business.category', op: 'in', value: ['retail', 'food'] })).toBe(true);
    expect(holds({ context: 'agent.id', op: 'eq', value: 'agent-2' }, {}, { agentId: 'agent-2' })).toBe(true);
    expect(
      holds(
        { context: 'history.first_time_business', op: 'eq', value: true },
        {},
        { firstTimeBusiness: true },
      ),
    ).toBe(true);
    expect(holds({ context: 'history.first_time_business', op: 'eq', value: true })).toBe(false);
  });

  it('reads spend.<limit id>, missing when the gateway did not count it', () => {
    expect(holds({ context: 'spend.daily', op: 'gt', value: 500 }, {}, { spend: { daily: 501 } })).toBe(true);
    expect(holds({ context: 'spend.daily', op: 'gt', value: 500 }, {}, { spend: { daily: 500 } })).toBe(
      false,
    );
    expect(holds({ context: 'spend.daily', op: 'exists' }, {}, { spend: {} })).toBe(false);
  });

  it('reads time in the policy time zone', () => {
    const compiled = compilePolicy(
      policy({
        timezone: 'Asia/Tokyo',
        rules: [
          {
            id: 'late-saturday',
            conditions: [
              { context: 'time.weekday', op: 'eq', value: 'sat' },
              { context: 'time.hour', op: 'eq', value: 1 },
              { context: 'time.minute', op: 'eq', value: 30 },
            ],
            action: 'reject',
            reason: 'too late',
          },
        ],
      }),
      { name: 't', version: 1, versionId: 'tokyo' },
    );
    // Friday 16:30 UTC is Saturday 01:30 in Tokyo.
    expect(compiled.evaluate(facts({ now: Date.UTC(2025, 0, 17, 16, 30) })).ruleId).toBe('late-saturday');
    expect(compiled.evaluate(facts({ now: Date.UTC(2025, 0, 17, 16, 31) })).outcome).toBe('auto_approve');
    expect(compiled.evaluate(facts({ now: Date.UTC(2025, 0, 18, 1, 30) })).outcome).toBe('auto_approve');
  });
});

describe('combinators', () => {
  const gt = (v: number) => ({ field: 'n', op: 'gt', value: v });
  const compileRule = (rule: Record<string, unknown>) =>
    compilePolicy(policy({ rules: [{ id: 'r', action: 'reject', reason: 'x', ...rule }] }), {
      name: 'c',
      version: 1,
      versionId: `c-${++version}`,
    });
  const hit = (rule: Record<string, unknown>, n: number) =>
    compileRule(rule).evaluate(facts({ request: { n } })).ruleId === 'r';

  it('match all (default) needs every condition, any needs one', () => {
    const conditions = [gt(1), gt(5), gt(10)];
    expect(hit({ conditions }, 11)).toBe(true);
    expect(hit({ conditions }, 6)).toBe(false);
    expect(hit({ conditions, match: 'any' }, 6)).toBe(true);
    expect(hit({ conditions, match: 'any' }, 1)).toBe(false);
    const five = [gt(1), gt(2), gt(3), gt(4), gt(5)];
    expect(hit({ conditions: five }, 6)).toBe(true);
    expect(hit({ conditions: five }, 5)).toBe(false);
    expect(hit({ conditions: five, match: 'any' }, 2)).toBe(true);
    expect(hit({ conditions: five, match: 'any' }, 1)).toBe(false);
  });

  it('no conditions: all matches, any does not', () => {
    expect(hit({}, 0)).toBe(true);
    expect(hit({ conditions: [], match: 'any' }, 0)).toBe(false);
  });

  it('nests all, any and not', () => {
    const rule = { conditions: [{ any: [{ all: [gt(1), { not: gt(3) }] }, gt(10)] }] };
    expect(hit(rule, 2)).toBe(true);
    expect(hit(rule, 3)).toBe(true);
    expect(hit(rule, 4)).toBe(false);
    expect(hit(rule, 11)).toBe(true);
    expect(hit(rule, 1)).toBe(false);
    expect(hit({ conditions: [{ not: { field: 'missing', op: 'eq', value: 1 } }] }, 0)).toBe(true);
  });

  it('reads each field once per evaluation but never leaks values between evaluations', () => {
    const compiled = compileRule({ conditions: [gt(5), { field: 'n', op: 'lt', value: 8 }] });
    const seq = [6, 9, 7, 1, 6].map((n) => compiled.evaluate(facts({ request: { n } })).outcome);
    expect(seq).toEqual(['reject', 'auto_approve', 'reject', 'auto_approve', 'reject']);
  });
});

describe('requiredPrefix (the literal fast path in front of anchored patterns)', () => {
  it.each([
    ['^SKU-\\d+$', 'SKU-'],
    ['^abc', 'abc'],
    ['^ab?c', 'a'],
    ['^abc{2}', 'ab'],
    ['^a*', ''],
    ['^\\d', ''],
    ['^(ab)', ''],
    ['^[ab]c', ''],
    ['^a.c', 'a'],
    ['^ab|cd', ''],
    ['^(?:a|b)', ''],
    ['abc', ''],
    ['', ''],
  ])('%s → %j', (pattern, prefix) => {
    expect(requiredPrefix(pattern)).toBe(prefix);
    if (prefix !== '') {
      // Sanity: the pattern never matches a string without the prefix, and can match one with it.
      expect(new RegExp(pattern, 'u').test(`x${prefix}`)).toBe(false);
    }
  });

  it('does not change results: anchored patterns still need the whole regex to match', () => {
    expect(holds({ field: 's', op: 'matches', value: '^SKU-\\d+$' }, { s: 'SKU-12' })).toBe(true);
    expect(holds({ field: 's', op: 'matches', value: '^SKU-\\d+$' }, { s: 'SKU-x' })).toBe(false);
    expect(holds({ field: 's', op: 'matches', value: '^SKU-\\d+$' }, { s: 'XSKU-1' })).toBe(false);
    expect(holds({ field: 's', op: 'matches', value: '^ab?c' }, { s: 'ac' })).toBe(true);
  });
});
