import { compilePattern, type LinearPattern } from './document/regex.ts';
import type { Condition, ContextCondition, FieldCondition, Scalar } from './document/schema.ts';
import type { Facts } from './facts.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, WEEKDAYS, weekdayIndex, type Zone } from './timezone.ts';

/**
 * Conditions compiled once (DESIGN §6, §11): a rule becomes one closure over pre-built leaf specs
 * (paths pre-split, regexes pre-built, lists pre-hashed); nested groups become closures over closures.
 *
 * Operator semantics (documented choices where DESIGN is silent):
 * - A value is missing when it is `undefined` or `null` (or the path runs through a non-object);
 *   a missing value makes every operator false except `exists` with `value: false`.
 * - Field paths walk objects and arrays (`items.0.sku`; `items.length` works). Requests are parsed
 *   JSON, so an inherited property is always a function: a function value counts as missing, and the
 *   schema refuses `__proto__`, `prototype` and `constructor` segments.
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

type Reader = (facts: Facts) => unknown;

/**
 * Per-policy read cache. Many leaves read the same field (fifty rules on `amount_cents`), and a
 * generic path walk is a megamorphic keyed load, so each distinct field path or context fact gets a
 * slot that is read at most once per evaluation: `stamps[slot] === gen` marks it filled. Evaluation is
 * synchronous and never re-entered, so one scratch per compiled policy is safe.
 */
export interface ConditionEnv {
  zone: Zone;
  gen: number;
  values: unknown[];
  stamps: number[];
  readers: Reader[];
  slots: Map<string, number>;
}

export function createConditionEnv(zone: Zone): ConditionEnv {
  return { zone, gen: 1, values: [], stamps: [], readers: [], slots: new Map() };
}

/** Starts an evaluation: every slot becomes stale. */
export function nextGeneration(env: ConditionEnv): void {
  if (++env.gen > 0x3fffffff) {
    env.gen = 1;
    env.stamps.fill(0);
  }
}

function slotValue(env: ConditionEnv, slot: number, facts: Facts): unknown {
  if (env.stamps[slot] === env.gen) return env.values[slot];
  const value = (env.readers[slot] as Reader)(facts);
  env.values[slot] = value;
  env.stamps[slot] = env.gen;
  return value;
}

type Segment = string | number;

/** Objects only; a function (an inherited method: requests are JSON) counts as missing. */
const step = (value: unknown, key: Segment): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<Segment, unknown>)[key] : undefined;
const notFunction = (value: unknown): unknown => (typeof value === 'function' ? undefined : value);

function fieldReader(path: string): Reader {
  const segments: Segment[] = path.split('.').map((s) => (/^(0|[1-9]\d{0,8})$/.test(s) ? Number(s) : s));
  const [a, b, c] = segments as [Segment, Segment | undefined, Segment | undefined];
  if (b === undefined) return (facts) => notFunction(facts.request[a]);
  if (c === undefined) return (facts) => notFunction(step(facts.request[a], b));
  if (segments.length === 3) return (facts) => notFunction(step(step(facts.request[a], b), c));
  return (facts) => {
    let value: unknown = facts.request;
    for (const segment of segments) value = step(value, segment);
    return notFunction(value);
  };
}

function contextReader(name: string, zone: Zone): Reader {
  switch (name) {
    case 'amount':
      return (facts) => facts.amount;
    case 'currency':
      return (facts) => facts.currency;
    case 'business.id':
      return (facts) => facts.business.id;
    case 'business.category':
      return (facts) => facts.business.category;
    case 'agent.id':
      return (facts) => facts.agentId;
    case 'time.weekday':
      return (facts) => WEEKDAYS[weekdayIndex(zone.local(facts.now))];
    case 'time.hour':
      return (facts) => {
        const local = zone.local(facts.now);
        return Math.floor((local - Math.floor(local / DAY_MS) * DAY_MS) / HOUR_MS);
      };
    case 'time.minute':
      return (facts) => {
        const local = zone.local(facts.now);
        return Math.floor((local - Math.floor(local / HOUR_MS) * HOUR_MS) / MINUTE_MS);
      };
    case 'history.first_time_business':
      return (facts) => facts.firstTimeBusiness;
  }
  // Validation guarantees the only other form is spend.<limit id>.
  const id = name.slice('spend.'.length);
  return (facts) => {
    const spent = facts.spend[id];
    return typeof spent === 'number' ? spent : undefined;
  };
}

function slotFor(leaf: FieldCondition | ContextCondition, env: ConditionEnv): number {
  const key = 'field' in leaf ? `field:${leaf.field}` : `context:${leaf.context}`;
  let slot = env.slots.get(key);
  if (slot === undefined) {
    slot = env.readers.length;
    env.readers.push('field' in leaf ? fieldReader(leaf.field) : contextReader(leaf.context, env.zone));
    env.values.push(undefined);
    env.stamps.push(0);
    env.slots.set(key, slot);
  }
  return slot;
}

/** Membership with `eq` semantics, hashed (short string lists are scanned by `testLeaf` instead). */
function memberOf(values: readonly Scalar[]): (value: unknown) => boolean {
  const strings = values.filter((v): v is string => typeof v === 'string');
  const numbers = values.filter((v): v is number => typeof v === 'number');
  const booleans = values.filter((v): v is boolean => typeof v === 'boolean');
  const stringSet = new Set(strings);
  const numberSet = new Set(numbers);
  const anyNumbers = numbers.length > 0;
  return (value) => {
    if (typeof value === 'string')
      return stringSet.has(value) || (anyNumbers && numberSet.has(toNumber(value)));
    if (typeof value === 'number') return numberSet.has(value);
    if (typeof value === 'boolean') return booleans.includes(value);
    return false;
  };
}

/** Leaf operations (plain numeric constants, so the switch below compiles to a jump table). */
const OP_EXISTS = 0;
const OP_ABSENT = 1;
const OP_EQ_NUMBER = 2;
const OP_EQ_STRICT = 3;
const OP_NEQ_NUMBER = 4;
const OP_NEQ_STRICT = 5;
const OP_GT = 6;
const OP_GTE = 7;
const OP_LT = 8;
const OP_LTE = 9;
const OP_IN_STRINGS = 10;
const OP_IN_ANY = 11;
const OP_NOT_IN_STRINGS = 12;
const OP_NOT_IN_ANY = 13;
const OP_CONTAINS = 14;
const OP_STARTS_WITH = 15;
const OP_MATCHES = 16;

/**
 * A leaf compiled to plain data, evaluated by `testLeaf` below. One monomorphic function with a switch
 * beats one closure kind per operator: the rule loop's calls then see a handful of closure shapes
 * (and inline them) instead of a megamorphic mix. Every field is always set so specs share one shape.
 */
export interface Leaf {
  op: number;
  slot: number;
  num: number;
  scalar: Scalar;
  strings: readonly string[];
  member: (value: unknown) => boolean;
  re: LinearPattern | null;
  /** starts_with: the prefix; matches: the literal prefix every match has ('' when none). */
  prefix: string;
}

const never = (): boolean => false;

function compileLeaf(leaf: FieldCondition | ContextCondition, env: ConditionEnv): Leaf {
  const spec: Leaf = {
    op: OP_EXISTS,
    slot: slotFor(leaf, env),
    num: 0,
    scalar: '',
    strings: [],
    member: never,
    re: null,
    prefix: '',
  };
  const value = leaf.value;
  switch (leaf.op) {
    case 'exists':
      spec.op = value === false ? OP_ABSENT : OP_EXISTS;
      break;
    case 'eq':
    case 'neq':
      if (typeof value === 'number') {
        spec.op = leaf.op === 'eq' ? OP_EQ_NUMBER : OP_NEQ_NUMBER;
        spec.num = value;
      } else {
        spec.op = leaf.op === 'eq' ? OP_EQ_STRICT : OP_NEQ_STRICT;
        spec.scalar = value as Scalar;
      }
      break;
    case 'gt':
      spec.op = OP_GT;
      spec.num = value as number;
      break;
    case 'gte':
      spec.op = OP_GTE;
      spec.num = value as number;
      break;
    case 'lt':
      spec.op = OP_LT;
      spec.num = value as number;
      break;
    case 'lte':
      spec.op = OP_LTE;
      spec.num = value as number;
      break;
    case 'in':
    case 'not_in': {
      const list = value as Scalar[];
      // Short string lists are scanned inline, which beats hashing them.
      if (list.length <= 8 && list.every((x) => typeof x === 'string')) {
        spec.op = leaf.op === 'in' ? OP_IN_STRINGS : OP_NOT_IN_STRINGS;
        spec.strings = list as string[];
      } else {
        spec.op = leaf.op === 'in' ? OP_IN_ANY : OP_NOT_IN_ANY;
        spec.member = memberOf(list);
      }
      break;
    }
    case 'contains':
      spec.op = OP_CONTAINS;
      spec.scalar = value as Scalar;
      break;
    case 'starts_with':
      spec.op = OP_STARTS_WITH;
      spec.prefix = value as string;
      break;
    case 'matches':
      spec.op = OP_MATCHES;
      spec.re = compilePattern(value as string);
      spec.prefix = requiredPrefix(value as string);
      break;
  }
  return spec;
}

function testLeaf(env: ConditionEnv, leaf: Leaf, facts: Facts): boolean {
  const v = slotValue(env, leaf.slot, facts);
  switch (leaf.op) {
    case OP_EXISTS:
      return v !== undefined && v !== null;
    case OP_ABSENT:
      return v === undefined || v === null;
    case OP_EQ_NUMBER:
      return toNumber(v) === leaf.num;
    case OP_EQ_STRICT:
      return v === leaf.scalar;
    case OP_NEQ_NUMBER:
      return v !== undefined && v !== null && toNumber(v) !== leaf.num;
    case OP_NEQ_STRICT:
      return v !== undefined && v !== null && v !== leaf.scalar;
    case OP_GT:
      return toNumber(v) > leaf.num;
    case OP_GTE:
      return toNumber(v) >= leaf.num;
    case OP_LT:
      return toNumber(v) < leaf.num;
    case OP_LTE:
      return toNumber(v) <= leaf.num;
    case OP_IN_STRINGS:
    case OP_NOT_IN_STRINGS: {
      const negate = leaf.op === OP_NOT_IN_STRINGS;
      if (typeof v !== 'string') return negate && v !== undefined && v !== null;
      const strings = leaf.strings;
      for (let i = 0; i < strings.length; i++) if (strings[i] === v) return !negate;
      return negate;
    }
    case OP_STARTS_WITH:
      return typeof v === 'string' && v.startsWith(leaf.prefix);
    default:
      return testRare(leaf, v);
  }
}

/** The less common operators, kept out of `testLeaf` so that one stays small enough to inline. */
function testRare(leaf: Leaf, v: unknown): boolean {
  switch (leaf.op) {
    case OP_IN_ANY:
      return leaf.member(v);
    case OP_NOT_IN_ANY:
      return v !== undefined && v !== null && !leaf.member(v);
    case OP_CONTAINS: {
      const expected = leaf.scalar;
      if (typeof v === 'string') return typeof expected === 'string' && v.includes(expected);
      if (!Array.isArray(v)) return false;
      if (typeof expected === 'number') {
        for (let i = 0; i < v.length; i++) if (toNumber(v[i]) === expected) return true;
      } else {
        for (let i = 0; i < v.length; i++) if (v[i] === expected) return true;
      }
      return false;
    }
    case OP_MATCHES:
      // The literal prefix is a cheap necessary condition in front of the regex.
      return typeof v === 'string' && v.startsWith(leaf.prefix) && (leaf.re as LinearPattern).test(v);
    default:
      return false;
  }
}

/**
 * The literal text every match of `pattern` must start with: for `^SKU-\d+` it is `SKU-`. Only for
 * patterns anchored with `^` and without `|` anywhere (so the anchor binds the whole pattern); a
 * literal followed by a quantifier is not required, so the prefix stops before it.
 */
export function requiredPrefix(pattern: string): string {
  if (!pattern.startsWith('^') || pattern.includes('|')) return '';
  let prefix = '';
  for (let i = 1; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if ('\\^$.|?*+()[]{}'.includes(c)) break;
    const next = pattern[i + 1];
    if (next === '?' || next === '*' || next === '+' || next === '{') break;
    prefix += c;
  }
  return prefix;
}

export function compileCondition(condition: Condition, env: ConditionEnv): Predicate {
  if ('all' in condition) return combine('all', condition.all, env);
  if ('any' in condition) return combine('any', condition.any, env);
  if ('not' in condition) {
    const inner = compileCondition(condition.not, env);
    return (facts) => !inner(facts);
  }
  const leaf = compileLeaf(condition, env);
  return (facts) => testLeaf(env, leaf, facts);
}

/** Rough relative cost of evaluating a condition, to try cheap ones first. */
function cost(condition: Condition): number {
  if ('all' in condition) return condition.all.reduce((sum, c) => sum + cost(c), 0);
  if ('any' in condition) return condition.any.reduce((sum, c) => sum + cost(c), 0);
  if ('not' in condition) return cost(condition.not);
  switch (condition.op) {
    case 'matches':
      return 8;
    case 'contains':
      return 3;
    case 'in':
    case 'not_in':
      return Array.isArray(condition.value) && condition.value.length > 8 ? 3 : 2;
    default:
      return 1;
  }
}

function byCost(conditions: readonly Condition[]): Condition[] {
  return conditions
    .map((c, order) => ({ c, order, cost: cost(c) }))
    .sort((x, y) => x.cost - y.cost || x.order - y.order)
    .map(({ c }) => c);
}

const isLeaf = (c: Condition): c is FieldCondition | ContextCondition => 'field' in c || 'context' in c;

/**
 * `all` of no conditions is true, `any` of none is false. Conditions are pure and total (none can
 * throw or observe another), so evaluating the cheap ones first (regexes last) changes nothing but
 * the time a short-circuit takes.
 */
export function combine(
  match: 'all' | 'any',
  conditions: readonly Condition[],
  env: ConditionEnv,
): Predicate {
  const ordered = byCost(conditions);
  if (ordered.length === 0) return match === 'all' ? () => true : () => false;
  if (ordered.every(isLeaf)) {
    const leaves = ordered.map((c) => compileLeaf(c, env));
    const any = match === 'any';
    return (facts) => testLeaves(env, leaves, any, facts);
  }
  const parts = ordered.map((c) => compileCondition(c, env));
  const [a, b] = parts as [Predicate, Predicate | undefined];
  if (b === undefined) return a;
  if (match === 'all') {
    return (facts) => {
      for (const p of parts) if (!p(facts)) return false;
      return true;
    };
  }
  return (facts) => {
    for (const p of parts) if (p(facts)) return true;
    return false;
  };
}

export function testLeaves(env: ConditionEnv, leaves: readonly Leaf[], any: boolean, facts: Facts): boolean {
  if (any) {
    for (let i = 0; i < leaves.length; i++) if (testLeaf(env, leaves[i] as Leaf, facts)) return true;
    return false;
  }
  for (let i = 0; i < leaves.length; i++) if (!testLeaf(env, leaves[i] as Leaf, facts)) return false;
  return true;
}

/**
 * A rule's conditions. Rules made only of plain leaves (the common case) keep them as data, and the
 * rule loop tests them with one monomorphic function, without a closure call per rule; rules with
 * nested groups fall back to the `test` closure.
 */
export interface RuleMatcher {
  leaves: readonly Leaf[] | null;
  any: boolean;
  test: Predicate;
}

export function compileMatcher(
  match: 'all' | 'any',
  conditions: readonly Condition[],
  env: ConditionEnv,
): RuleMatcher {
  const ordered = byCost(conditions);
  const any = match === 'any';
  if (ordered.every(isLeaf)) {
    const leaves = ordered.map((c) => compileLeaf(c, env));
    return { leaves, any, test: (facts) => testLeaves(env, leaves, any, facts) };
  }
  return { leaves: null, any, test: combine(match, conditions, env) };
}
