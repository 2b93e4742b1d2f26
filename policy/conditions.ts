import type { Condition, ContextCondition, FieldCondition, Scalar } from './document/schema.ts';
import type { Facts } from './evaluate.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, WEEKDAYS, weekdayIndex, type Zone } from './timezone.ts';

/**
 * Conditions compiled to closures (DESIGN §6, §11: compile once, evaluate with plain closures).
 *
 * Operator semantics (documented choices where DESIGN is silent):
 * - A value is missing when it is `undefined` or `null` (or the path runs through a non-object);
 *   a missing value makes every operator false except `exists` with `value: false`.
 * - Field paths read own properties only (`items.0.sku` indexes arrays; `items.length` works;
 *   inherited properties such as `toString` are missing).
 * - Numbers: when the policy value is a number, a request string of decimal digits (`"2500"`,
 *   `"-1.5"`) counts as that number for `eq neq gt gte lt lte in not_in contains`; `gt gte lt lte` are
 *   false for anything that is not a number or such a string. Strings and booleans compare strictly.
 * - `contains`: substring on strings (case-sensitive, the policy value must be a string), element
 *   equality on arrays; false on anything else. `starts_with` and `matches`: strings only.
 * - `in` / `not_in`: membership with the same equality; `not_in` is false when the value is missing.
 * - `neq`: true when the value is present and not equal.
 */

export type Predicate = (facts: Facts) => boolean;

const NUMERIC_STRING = /^-?\d+(\.\d+)?$/;

/** A number, a numeric string's number, or NaN (which every comparison rejects). */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMERIC_STRING.test(value)) return Number(value);
  return Number.NaN;
}

const hasOwn = Object.hasOwn;

/**
 * What a leaf reads. Reads are three plain top-level functions selected per leaf, so the call site in
 * each operator closure stays polymorphic (inlinable) instead of calling a getter closure per leaf.
 */
interface Source {
  /** Field path segments (field conditions). */
  segments: readonly string[];
  /** First segment, for single-segment paths. */
  key: string;
  /** Context fact code (context conditions). */
  fact: number;
  /** Limit id for `spend.<id>`. */
  spendId: string;
  zone: Zone;
}
type Reader = (facts: Facts, source: Source) => unknown;

function readKey(facts: Facts, source: Source): unknown {
  const request = facts.request;
  return hasOwn(request, source.key) ? request[source.key] : undefined;
}

function readPath(facts: Facts, source: Source): unknown {
  let value: unknown = facts.request;
  const segments = source.segments;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (typeof value !== 'object' || value === null || !hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

const FACTS = [
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
const SPEND = FACTS.length;

function readContext(facts: Facts, source: Source): unknown {
  switch (source.fact) {
    case 0:
      return facts.amount;
    case 1:
      return facts.currency;
    case 2:
      return facts.business.id;
    case 3:
      return facts.business.category;
    case 4:
      return facts.agentId;
    case 5:
      return WEEKDAYS[weekdayIndex(source.zone.local(facts.now))];
    case 6: {
      const local = source.zone.local(facts.now);
      return Math.floor((local - Math.floor(local / DAY_MS) * DAY_MS) / HOUR_MS);
    }
    case 7: {
      const local = source.zone.local(facts.now);
      return Math.floor((local - Math.floor(local / HOUR_MS) * HOUR_MS) / MINUTE_MS);
    }
    case 8:
      return facts.firstTimeBusiness;
    default: {
      const spent = facts.spend[source.spendId];
      return typeof spent === 'number' ? spent : undefined;
    }
  }
}

function sourceOf(leaf: FieldCondition | ContextCondition, zone: Zone): [Reader, Source] {
  if ('field' in leaf) {
    const segments = leaf.field.split('.');
    const source = { segments, key: leaf.field, fact: -1, spendId: '', zone };
    return [segments.length === 1 ? readKey : readPath, source];
  }
  const fact = FACTS.indexOf(leaf.context);
  // Validation guarantees the only other form is spend.<limit id>.
  const source = {
    segments: [],
    key: '',
    fact: fact < 0 ? SPEND : fact,
    spendId: fact < 0 ? leaf.context.slice('spend.'.length) : '',
    zone,
  };
  return [readContext, source];
}

const present = (v: unknown): boolean => v !== undefined && v !== null;

/** Equality as documented above: numbers match numeric strings, everything else is strict. */
function equalsTo(expected: Scalar): (value: unknown) => boolean {
  if (typeof expected === 'number') return (value) => toNumber(value) === expected;
  return (value) => value === expected;
}

function memberOf(values: readonly Scalar[]): (value: unknown) => boolean {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const booleans = new Set<boolean>();
  for (const v of values) {
    if (typeof v === 'string') strings.add(v);
    else if (typeof v === 'number') numbers.add(v);
    else booleans.add(v);
  }
  const anyNumbers = numbers.size > 0;
  return (value) => {
    if (typeof value === 'string') return strings.has(value) || (anyNumbers && numbers.has(toNumber(value)));
    if (typeof value === 'number') return numbers.has(value);
    if (typeof value === 'boolean') return booleans.has(value);
    return false;
  };
}

/** One closure per leaf: the read is a direct call, the common operators are inline. */
function leafPredicate(leaf: FieldCondition | ContextCondition, zone: Zone): Predicate {
  const [read, source] = sourceOf(leaf, zone);
  const value = leaf.value;
  switch (leaf.op) {
    case 'exists':
      return value === false ? (f) => !present(read(f, source)) : (f) => present(read(f, source));
    case 'eq': {
      if (typeof value === 'number') return (f) => toNumber(read(f, source)) === value;
      return (f) => read(f, source) === value;
    }
    case 'neq': {
      if (typeof value === 'number') {
        return (f) => {
          const v = read(f, source);
          return present(v) && toNumber(v) !== value;
        };
      }
      return (f) => {
        const v = read(f, source);
        return present(v) && v !== value;
      };
    }
    case 'gt': {
      const n = value as number;
      return (f) => toNumber(read(f, source)) > n;
    }
    case 'gte': {
      const n = value as number;
      return (f) => toNumber(read(f, source)) >= n;
    }
    case 'lt': {
      const n = value as number;
      return (f) => toNumber(read(f, source)) < n;
    }
    case 'lte': {
      const n = value as number;
      return (f) => toNumber(read(f, source)) <= n;
    }
    case 'in': {
      const member = memberOf(value as Scalar[]);
      return (f) => member(read(f, source));
    }
    case 'not_in': {
      const member = memberOf(value as Scalar[]);
      return (f) => {
        const v = read(f, source);
        return present(v) && !member(v);
      };
    }
    case 'contains': {
      const expected = value as Scalar;
      const eq = equalsTo(expected);
      const substring = typeof expected === 'string' ? expected : null;
      return (f) => {
        const v = read(f, source);
        if (typeof v === 'string') return substring !== null && v.includes(substring);
        if (Array.isArray(v)) return v.some(eq);
        return false;
      };
    }
    case 'starts_with': {
      const prefix = value as string;
      return (f) => {
        const v = read(f, source);
        return typeof v === 'string' && v.startsWith(prefix);
      };
    }
    case 'matches': {
      const re = new RegExp(value as string, 'u');
      return (f) => {
        const v = read(f, source);
        return typeof v === 'string' && re.test(v);
      };
    }
  }
}

export function compileCondition(condition: Condition, zone: Zone): Predicate {
  if ('all' in condition) return combine('all', condition.all, zone);
  if ('any' in condition) return combine('any', condition.any, zone);
  if ('not' in condition) {
    const inner = compileCondition(condition.not, zone);
    return (facts) => !inner(facts);
  }
  return leafPredicate(condition, zone);
}

/** `all` of no conditions is true, `any` of none is false; short lists avoid the loop. */
export function combine(match: 'all' | 'any', conditions: readonly Condition[], zone: Zone): Predicate {
  const parts = conditions.map((c) => compileCondition(c, zone));
  const [a, b, c] = parts;
  if (match === 'all') {
    if (a === undefined) return () => true;
    if (b === undefined) return a;
    if (c === undefined) return (facts) => a(facts) && b(facts);
    if (parts.length === 3) return (facts) => a(facts) && b(facts) && c(facts);
    return (facts) => {
      for (const p of parts) if (!p(facts)) return false;
      return true;
    };
  }
  if (a === undefined) return () => false;
  if (b === undefined) return a;
  if (c === undefined) return (facts) => a(facts) || b(facts);
  if (parts.length === 3) return (facts) => a(facts) || b(facts) || c(facts);
  return (facts) => {
    for (const p of parts) if (p(facts)) return true;
    return false;
  };
}
