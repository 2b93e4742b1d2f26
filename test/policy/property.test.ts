import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Condition,
  compilePolicy,
  type Facts,
  type PolicyDocument,
  type Rule,
  type SpendingLimit,
  validatePolicy,
} from '../../policy/index.ts';

/*
 * A deliberately plain reading of DESIGN §6, written without looking at the compiled evaluator's
 * data structures: no caches, no pre-sorting, Intl for every wall-clock question. The compiled
 * policy must agree with it on outcome, ruleId, stages and the checks it reports.
 */

// ---------- reference interpreter ----------

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(t: number, timeZone: string) {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const parts = format.formatToParts(t);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { weekday: get('weekday').toLowerCase(), hour: Number(get('hour')), minute: Number(get('minute')) };
}

function readField(request: unknown, path: string): unknown {
  let value = request;
  for (const segment of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function readContext(name: string, f: Facts, timezone: string): unknown {
  if (name.startsWith('spend.')) return f.spend[name.slice(6)];
  const wall = wallClock(f.now, timezone);
  const table: Record<string, unknown> = {
    amount: f.amount,
    currency: f.currency,
    'business.id': f.business.id,
    'business.category': f.business.category,
    'agent.id': f.agentId,
    'time.weekday': wall.weekday,
    'time.hour': wall.hour,
    'time.minute': wall.minute,
    'history.first_time_business': f.firstTimeBusiness,
  };
  return table[name];
}

function asNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return Number.NaN;
}

function same(v: unknown, expected: unknown): boolean {
  return typeof expected === 'number' ? asNumber(v) === expected : v === expected;
}

function holds(c: Condition, f: Facts, timezone: string): boolean {
  if ('all' in c) return c.all.every((x) => holds(x, f, timezone));
  if ('any' in c) return c.any.some((x) => holds(x, f, timezone));
  if ('not' in c) return !holds(c.not, f, timezone);
  const v = 'field' in c ? readField(f.request, c.field) : readContext(c.context, f, timezone);
  const missing = v === undefined || v === null;
  if (c.op === 'exists') return c.value === false ? missing : !missing;
  if (missing) return false;
  const x = c.value;
  switch (c.op) {
    case 'eq':
      return same(v, x);
    case 'neq':
      return !same(v, x);
    case 'gt':
      return asNumber(v) > (x as number);
    case 'gte':
      return asNumber(v) >= (x as number);
    case 'lt':
      return asNumber(v) < (x as number);
    case 'lte':
      return asNumber(v) <= (x as number);
    case 'in':
      return (x as unknown[]).some((e) => same(v, e));
    case 'not_in':
      return !(x as unknown[]).some((e) => same(v, e));
    case 'contains':
      if (typeof v === 'string') return typeof x === 'string' && v.includes(x);
      if (Array.isArray(v)) return v.some((e) => same(e, x));
      return false;
    case 'starts_with':
      return typeof v === 'string' && v.startsWith(x as string);
    case 'matches':
      return typeof v === 'string' && new RegExp(x as string, 'u').test(v);
  }
}

function minutes(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function insideWindows(
  allow: { days: string[]; start: string; end: string }[],
  t: number,
  timezone: string,
): boolean {
  const wall = wallClock(t, timezone);
  const minute = wall.hour * 60 + wall.minute;
  const yesterday = DAYS[(DAYS.indexOf(wall.weekday) + 6) % 7] as string;
  return allow.some((w) => {
    const s = minutes(w.start);
    const e = minutes(w.end);
    if (s < e) return w.days.includes(wall.weekday) && minute >= s && minute < e;
    return (w.days.includes(wall.weekday) && minute >= s) || (w.days.includes(yesterday) && minute < e);
  });
}

interface Expected {
  outcome: string;
  ruleId: string | undefined;
  stages: number[];
  checks: [string, string | undefined, string][];
}

function reference(doc: PolicyDocument, f: Facts): Expected {
  // Overrides: business then agent stack on the base.
  const limits: SpendingLimit[] = [...doc.spending_limits];
  let categories = doc.categories ?? null;
  let timeWindows = doc.time_windows ?? null;
  let confirmation = doc.confirmation ?? null;
  const ruleLists: Rule[][] = [doc.rules];
  const layers = [
    Object.hasOwn(doc.business_overrides, f.business.id) ? doc.business_overrides[f.business.id] : undefined,
    Object.hasOwn(doc.agent_overrides, f.agentId) ? doc.agent_overrides[f.agentId] : undefined,
  ];
  for (const layer of layers) {
    if (!layer) continue;
    for (const limit of layer.spending_limits ?? []) {
      const i = limits.findIndex((l) => l.id === limit.id);
      if (i >= 0) limits[i] = limit;
      else limits.push(limit);
    }
    if (layer.categories !== undefined) categories = layer.categories;
    if (layer.time_windows !== undefined) timeWindows = layer.time_windows;
    if (layer.confirmation !== undefined) confirmation = layer.confirmation;
    if (layer.rules) ruleLists.unshift(layer.rules);
  }
  const rules = ruleLists.flatMap((list) => [...list].sort((a, b) => a.priority - b.priority));
  const definedStages = doc.routing_stages.map((s) => s.stage_index).sort((a, b) => a - b);
  const lowest = definedStages.slice(0, 1);

  const checks: Expected['checks'] = [];
  const rejects: string[] = [];
  const approvals: { id: string; stages: number[] }[] = [];
  let queued = false;
  let autoRule: string | undefined;

  const rule = rules.find((r) =>
    holds(r.match === 'all' ? { all: r.conditions } : { any: r.conditions }, f, doc.timezone),
  );
  if (rule) {
    checks.push(['rule', rule.id, rule.action === 'auto_approve' ? 'pass' : 'fail']);
    if (rule.action === 'reject') rejects.push(rule.id);
    if (rule.action === 'require_approval') approvals.push({ id: rule.id, stages: [rule.stage_index ?? 0] });
    if (rule.action === 'multi_stage')
      approvals.push({ id: rule.id, stages: rule.routing_stage_indexes ?? [] });
    if (rule.action === 'auto_approve') autoRule = rule.id;
  } else {
    const action = doc.default_action;
    checks.push(['rule', `default_action:${action}`, action === 'auto_approve' ? 'pass' : 'fail']);
    if (action === 'reject') rejects.push('default_action:reject');
    if (action === 'require_approval')
      approvals.push({ id: 'default_action:require_approval', stages: lowest });
  }

  if (categories && (categories.allow || categories.block)) {
    const category = f.business.category;
    const ok = categories.allow ? categories.allow.includes(category) : !categories.block?.includes(category);
    const kind = categories.allow ? 'allow' : 'block';
    checks.push(['category', kind, ok ? 'pass' : 'fail']);
    if (!ok) rejects.push(`category:${kind}`);
  }

  for (const limit of limits) {
    const applies =
      (!limit.categories || limit.categories.includes(f.business.category)) &&
      (limit.currency ?? doc.currency) === f.currency;
    let ok = true;
    if (applies && f.amount !== null) {
      const counted = limit.interval === 'per_transaction' ? 0 : (f.spend[limit.id] ?? 0);
      ok = counted + f.amount <= limit.amount;
    }
    checks.push(['spending_limit', limit.id, ok ? 'pass' : 'fail']);
    if (!ok) {
      if (doc.on_limit_exceeded === 'reject') rejects.push(`spending_limit:${limit.id}`);
      else approvals.push({ id: `spending_limit:${limit.id}`, stages: lowest });
    }
  }

  if (timeWindows) {
    const inside = insideWindows(timeWindows.allow, f.now, doc.timezone);
    checks.push(['time_window', inside ? undefined : 'outside', inside ? 'pass' : 'fail']);
    if (!inside) {
      if (timeWindows.outside === 'queue') queued = true;
      else rejects.push('time_window:outside');
    }
  }

  if (confirmation) {
    const triggers: string[] = [];
    if (confirmation.always) triggers.push('always');
    if (
      confirmation.above_amount !== undefined &&
      f.amount !== null &&
      f.amount > confirmation.above_amount
    ) {
      triggers.push('above_amount');
    }
    if (confirmation.first_time_business && f.firstTimeBusiness) triggers.push('first_time_business');
    checks.push(['confirmation', triggers[0], triggers.length > 0 ? 'fail' : 'pass']);
    if (triggers.length > 0)
      approvals.push({ id: `confirmation:${triggers[0]}`, stages: [confirmation.stage_index ?? 0] });
  }

  if (rejects.length > 0) return { outcome: 'reject', ruleId: rejects[0], stages: [], checks };
  if (queued) return { outcome: 'queue', ruleId: 'time_window:outside', stages: [], checks };
  if (approvals.length > 0) {
    const stages = [...new Set(approvals.flatMap((a) => a.stages))].sort((a, b) => a - b);
    return { outcome: 'approval', ruleId: approvals[0]?.id, stages, checks };
  }
  return { outcome: 'auto_approve', ruleId: autoRule, stages: [], checks };
}

// ---------- generators ----------

const STRINGS = ['a', 'b', 'gift', 'gift card', 'eu', 'SKU-1', 'SKU', '', '25', '-1.5'];
const NUMBERS = [0, 1, 5, 25, 100, 2500, -1, 1.5];
const scalar = fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS), fc.boolean());
const FIELDS = [
  'amount_cents',
  'item',
  'tags',
  'meta.region',
  'items.0.sku',
  'flag',
  'missing.x',
  'n',
  'tags.1',
];
const CONTEXTS = [
  'amount',
  'currency',
  'business.id',
  'business.category',
  'agent.id',
  'time.weekday',
  'time.hour',
  'time.minute',
  'history.first_time_business',
];
const PATTERNS = [
  '^g',
  'card$',
  '\\d',
  '^SKU-\\d+$',
  'e.',
  '^(?:a|b)$',
  '[A-Z]{3}',
  '^(a|a)+$',
  '(\\w+\\s?)*$',
];
const CATEGORIES = ['food', 'retail', 'travel', 'gambling'];

function leaf(limitIds: string[]) {
  const source = fc.oneof(
    fc.constantFrom(...FIELDS).map((field) => ({ field })),
    fc.constantFrom(...CONTEXTS, ...limitIds.map((id) => `spend.${id}`)).map((context) => ({ context })),
  );
  const opValue = fc.oneof(
    fc.constantFrom('eq', 'neq', 'contains').chain((op) => scalar.map((value) => ({ op, value }))),
    fc
      .constantFrom('gt', 'gte', 'lt', 'lte')
      .chain((op) => fc.constantFrom(...NUMBERS, 12, 30).map((value) => ({ op, value }))),
    fc
      .constantFrom('in', 'not_in')
      .chain((op) => fc.array(scalar, { maxLength: 10 }).map((value) => ({ op, value }))),
    fc.constantFrom(...STRINGS).map((value) => ({ op: 'starts_with', value })),
    fc.constantFrom(...PATTERNS).map((value) => ({ op: 'matches', value })),
    fc
      .option(fc.boolean(), { nil: undefined })
      .map((value) => (value === undefined ? { op: 'exists' } : { op: 'exists', value })),
  );
  return fc.tuple(source, opValue).map(([s, o]) => ({ ...s, ...o }));
}

function conditionList(limitIds: string[]) {
  const { list } = fc.letrec<{ cond: unknown; list: unknown[] }>((tie) => ({
    cond: fc.oneof(
      { depthSize: 'small', withCrossShrink: true, maxDepth: 4 },
      leaf(limitIds),
      fc.record({ all: fc.array(tie('cond'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ any: fc.array(tie('cond'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ not: tie('cond') }),
    ),
    list: fc.array(tie('cond'), { maxLength: 3 }),
  }));
  return list;
}

const clock = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 30))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${m === 0 ? '00' : '30'}`);
const timeWindows = fc.record({
  allow: fc.array(
    fc
      .record({
        days: fc.uniqueArray(fc.constantFrom(...DAYS), { minLength: 1, maxLength: 7 }),
        start: clock,
        end: clock,
      })
      .filter((w) => w.start !== w.end),
    { minLength: 1, maxLength: 2 },
  ),
  outside: fc.constantFrom('reject', 'queue'),
});

function limitsArb(prefix: string, ids: string[] = []) {
  return fc
    .uniqueArray(fc.constantFrom(...ids, `${prefix}0`, `${prefix}1`, `${prefix}2`), { maxLength: 3 })
    .chain((chosen) =>
      fc.tuple(
        ...chosen.map((id) =>
          fc.record(
            {
              id: fc.constant(id),
              amount: fc.constantFrom(0, 100, 1000, 5000),
              interval: fc.constantFrom('per_transaction', 'hour', 'day', 'week', 'month', 'all_time'),
              window: fc.constantFrom('rolling', 'calendar'),
              categories: fc.uniqueArray(fc.constantFrom(...CATEGORIES), { minLength: 1, maxLength: 2 }),
              currency: fc.constantFrom('USD', 'EUR'),
            },
            { requiredKeys: ['id', 'amount', 'interval'] },
          ),
        ),
      ),
    );
}

function rulesArb(prefix: string, stages: number[], limitIds: string[]) {
  return fc.integer({ min: 0, max: 6 }).chain((count) =>
    fc.tuple(
      ...Array.from({ length: count }, (_, i) =>
        fc
          .record({
            priority: fc.constantFrom(-1, 0, 1, 2),
            match: fc.constantFrom('all', 'any'),
            conditions: conditionList(limitIds),
            action: fc.constantFrom('auto_approve', 'reject', 'require_approval', 'multi_stage'),
            reason: fc.option(fc.constantFrom('because', 'policy says so'), { nil: undefined }),
            stage: fc.constantFrom(...stages),
            multi: fc.uniqueArray(fc.constantFrom(...stages), { minLength: 1 }),
          })
          .map(({ stage, multi, reason, ...r }) => ({
            id: `${prefix}${i}`,
            ...r,
            ...(r.action === 'reject' ? { reason: reason ?? 'no' } : reason ? { reason } : {}),
            ...(r.action === 'require_approval' ? { stage_index: stage } : {}),
            ...(r.action === 'multi_stage' ? { routing_stage_indexes: multi } : {}),
          })),
      ),
    ),
  );
}

function confirmationArb(stages: number[]) {
  return fc.record(
    {
      always: fc.boolean(),
      above_amount: fc.constantFrom(0, 100, 2500),
      first_time_business: fc.boolean(),
      stage_index: fc.constantFrom(...stages),
    },
    { requiredKeys: ['stage_index'] },
  );
}

const categoriesArb = fc.oneof(
  fc.record({ allow: fc.uniqueArray(fc.constantFrom(...CATEGORIES), { maxLength: 3 }) }),
  fc.record({ block: fc.uniqueArray(fc.constantFrom(...CATEGORIES), { maxLength: 3 }) }),
);

function overrideArb(prefix: string, stages: number[], limitIds: string[]) {
  return fc.record(
    {
      spending_limits: limitsArb(`${prefix}l`, limitIds),
      categories: fc.option(categoriesArb, { nil: null }),
      time_windows: fc.option(timeWindows, { nil: null }),
      confirmation: fc.option(confirmationArb(stages), { nil: null }),
      rules: rulesArb(prefix, stages, limitIds),
    },
    { requiredKeys: [] },
  );
}

const documentArb = fc
  .uniqueArray(fc.constantFrom(0, 1, 2, 5), { minLength: 1, maxLength: 4 })
  .chain((stages) =>
    limitsArb('l').chain((limits) => {
      const ids = limits.map((l) => l.id);
      return fc.record(
        {
          timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'),
          currency: fc.constantFrom('USD', 'EUR'),
          default_action: fc.constantFrom('auto_approve', 'reject', 'require_approval'),
          categories: categoriesArb,
          spending_limits: fc.constant(limits),
          on_limit_exceeded: fc.constantFrom('reject', 'require_approval'),
          time_windows: timeWindows,
          confirmation: confirmationArb(stages),
          rules: rulesArb('r', stages, ids),
          routing_stages: fc.constant(
            stages.map((stage_index) => ({ stage_index, role: 'approver', approval_timeout_seconds: 3600 })),
          ),
          business_overrides: fc.record(
            { shop: overrideArb('bs', stages, ids), acme: overrideArb('ba', stages, ids) },
            { requiredKeys: [] },
          ),
          agent_overrides: fc.record({ 'agent-1': overrideArb('ag', stages, ids) }, { requiredKeys: [] }),
        },
        { requiredKeys: ['spending_limits', 'rules', 'routing_stages'] },
      );
    }),
  );

const requestArb = fc.record(
  {
    amount_cents: fc.oneof(fc.constantFrom(...NUMBERS, 10_000), fc.constantFrom('2500', '100', 'x')),
    item: fc.constantFrom(...STRINGS, 'a gift card'),
    tags: fc.array(scalar, { maxLength: 3 }),
    meta: fc.record({ region: fc.constantFrom(...STRINGS) }, { requiredKeys: [] }),
    items: fc.array(fc.record({ sku: fc.constantFrom(...STRINGS) }), { maxLength: 2 }),
    flag: fc.oneof(fc.boolean(), fc.constant(null)),
    n: fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom(...STRINGS)),
  },
  { requiredKeys: [] },
);

const factsArb: fc.Arbitrary<Facts> = fc.record({
  request: requestArb,
  amount: fc.option(fc.constantFrom(0, 1, 99, 100, 1000, 2500, 5000, 10_000), { nil: null }),
  currency: fc.constantFrom('USD', 'EUR'),
  business: fc.record({
    id: fc.constantFrom('shop', 'acme', 'other'),
    category: fc.constantFrom(...CATEGORIES),
  }),
  agentId: fc.constantFrom('agent-1', 'agent-2'),
  now: fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2026, 0, 1) }),
  spend: fc.dictionary(
    fc.constantFrom('l0', 'l1', 'l2', 'bsl0', 'bal1', 'agl2'),
    fc.constantFrom(0, 50, 900, 4999, 10_000),
  ),
  firstTimeBusiness: fc.boolean(),
});

// ---------- the property ----------

describe('compiled evaluator agrees with the reference interpreter', () => {
  it('on outcome, ruleId, stage indexes and checks (random policies × random facts)', () => {
    let version = 0;
    const outcomes = new Map<string, number>();
    fc.assert(
      fc.property(documentArb, fc.array(factsArb, { minLength: 1, maxLength: 8 }), (input, factsList) => {
        const validated = validatePolicy(input);
        if (!validated.ok)
          throw new Error(`generator made an invalid policy: ${JSON.stringify(validated.issues)}`);
        const doc = validated.policy;
        const compiled = compilePolicy(doc, {
          name: 'prop',
          version: ++version,
          versionId: `prop-${version}`,
        });
        for (const f of factsList) {
          const expected = reference(doc, f);
          const actual = compiled.evaluate(f);
          outcomes.set(actual.outcome, (outcomes.get(actual.outcome) ?? 0) + 1);
          expect({
            outcome: actual.outcome,
            ruleId: actual.ruleId,
            stages: actual.stages?.map((s) => s.index) ?? [],
            checks: actual.checks.map((c) => [c.control, c.id, c.result]),
          }).toEqual(expected);
          if (actual.outcome === 'queue') {
            const release = Date.parse(actual.releaseAt ?? '');
            expect(release).toBeGreaterThan(f.now);
          }
        }
      }),
      { numRuns: 1500 },
    );
    // The generators must exercise every outcome, or the agreement above proves little.
    for (const outcome of ['auto_approve', 'reject', 'approval', 'queue']) {
      expect(outcomes.get(outcome) ?? 0, outcome).toBeGreaterThan(50);
    }
  }, 60_000);

  it('rule matching alone, with no controls (denser coverage of operators)', () => {
    let version = 0;
    fc.assert(
      fc.property(
        rulesArb('r', [0], ['l0']),
        fc.array(factsArb, { minLength: 1, maxLength: 10 }),
        (rules, factsList) => {
          const validated = validatePolicy({
            rules,
            routing_stages: [{ stage_index: 0, role: 'admin' }],
            spending_limits: [{ id: 'l0', amount: 1_000_000, interval: 'all_time' }],
          });
          if (!validated.ok) throw new Error(JSON.stringify(validated.issues));
          const compiled = compilePolicy(validated.policy, {
            name: 'r',
            version: ++version,
            versionId: `r-${version}`,
          });
          for (const f of factsList) {
            const expected = reference(validated.policy, f);
            const actual = compiled.evaluate(f);
            expect([actual.outcome, actual.ruleId]).toEqual([expected.outcome, expected.ruleId]);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
