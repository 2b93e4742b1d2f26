import { compileMatcher, createConditionEnv } from './conditions.ts';
import {
  type Confirmation,
  DEFAULT_APPROVAL_TIMEOUT_SECONDS,
  type PolicyDocument,
  type PolicyOverride,
  type Rule,
  type SpendingLimit,
} from './document/schema.ts';
import {
  type Check,
  type CompiledCategories,
  type CompiledConfirmation,
  type CompiledLimit,
  type CompiledPolicy,
  type CompiledRule,
  type CompiledTimeWindows,
  type Decision,
  type EffectiveLimit,
  evaluateView,
  type PolicyCore,
  type PolicyView,
  type Stage,
} from './evaluate.ts';
import type { Facts } from './facts.ts';
import { zoneFor } from './timezone.ts';
import { compileWindows, windowStart } from './windows.ts';

/**
 * Compiles a validated policy document once (DESIGN §11) into closures and frozen tables.
 *
 * Overrides (DESIGN §6): `business_overrides[businessId]` then `agent_overrides[agentId]` stack on the
 * base. Limits merge by id (a same-id limit replaces the earlier one in place, new ids are appended);
 * `categories`, `time_windows`, `confirmation` replace (`null` removes the control); rules are
 * prepended, so the order is agent override rules, then business override rules, then base rules,
 * each list sorted by priority then document order. Views per business/agent pair are built on first
 * use and memoised; ids without an override share the base view, so memory is bounded by the document.
 */

export interface PolicyMeta {
  name: string;
  version: number;
  versionId: string;
}

const EMPTY: readonly never[] = Object.freeze([]);

class Compiled implements CompiledPolicy {
  readonly name: string;
  readonly version: number;
  readonly versionId: string;
  readonly timezone: string;
  readonly currency: string;
  readonly usesHistory: boolean;

  private readonly core: PolicyCore;
  private readonly stageByIndex = new Map<number, Stage>();
  private readonly base: PolicyView;
  private readonly businessOverrides: ReadonlyMap<string, PolicyOverride>;
  private readonly agentOverrides: ReadonlyMap<string, PolicyOverride>;
  private readonly noOverrides: boolean;
  private readonly byBusiness = new Map<string, PolicyView>();
  private readonly byAgent = new Map<string, PolicyView>();
  private readonly byPair = new Map<string, Map<string, PolicyView>>();
  private readonly compiledRules = new Map<readonly Rule[], readonly CompiledRule[]>();
  private readonly compiledLimits = new Map<SpendingLimit, CompiledLimit>();

  constructor(
    private readonly doc: PolicyDocument,
    meta: PolicyMeta,
  ) {
    this.name = meta.name;
    this.version = meta.version;
    this.versionId = meta.versionId;
    this.timezone = doc.timezone;
    this.currency = doc.currency;
    // The only history fact is first_time_business, as a confirmation trigger or a condition's
    // context, anywhere in the document (overrides included): a superset is safe, a miss is not.
    this.usesHistory = JSON.stringify(doc).includes('first_time_business');

    const sortedStages = [...doc.routing_stages].sort((a, b) => a.stage_index - b.stage_index);
    for (const s of sortedStages) {
      this.stageByIndex.set(
        s.stage_index,
        Object.freeze({
          index: s.stage_index,
          role: s.role,
          tier: s.tier,
          quorum: s.quorum,
          timeoutSeconds: s.approval_timeout_seconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS,
          onTimeout: s.on_approval_timeout,
        }),
      );
    }
    const lowest = sortedStages[0];
    const zone = zoneFor(doc.timezone);
    const defaultRejects = doc.default_action === 'reject';
    this.core = {
      zone,
      conditions: createConditionEnv(zone),
      timezone: doc.timezone,
      policyRef: Object.freeze({ name: meta.name, version: meta.version }),
      defaultAction: doc.default_action,
      defaultCheck: Object.freeze({
        control: 'rule',
        id: `default_action:${doc.default_action}`,
        result: doc.default_action === 'auto_approve' ? 'pass' : 'fail',
        detail: `No rule matched; default_action ${doc.default_action}${defaultRejects ? ' rejects' : ''}`,
      } as const),
      lowestStage: lowest === undefined ? EMPTY : this.stages([lowest.stage_index]),
      limitApproval: doc.on_limit_exceeded === 'require_approval',
    };
    this.businessOverrides = new Map(Object.entries(doc.business_overrides));
    this.agentOverrides = new Map(Object.entries(doc.agent_overrides));
    this.noOverrides = this.businessOverrides.size === 0 && this.agentOverrides.size === 0;
    this.base = this.buildView([]);
  }

  evaluate(facts: Facts): Decision {
    return evaluateView(this.core, this.view(facts.business.id, facts.agentId), facts);
  }

  limitsFor(businessId: string, agentId: string): readonly EffectiveLimit[] {
    return this.view(businessId, agentId).effectiveLimits;
  }

  windowStartFor(limit: EffectiveLimit, now: number): number | null {
    return windowStart(limit, now, this.timezone);
  }

  private view(businessId: string, agentId: string): PolicyView {
    if (this.noOverrides) return this.base;
    const business = this.businessOverrides.get(businessId);
    const agent = this.agentOverrides.get(agentId);
    if (business === undefined) {
      if (agent === undefined) return this.base;
      return memo(this.byAgent, agentId, () => this.buildView([agent]));
    }
    if (agent === undefined) return memo(this.byBusiness, businessId, () => this.buildView([business]));
    const forBusiness = memo(this.byPair, businessId, () => new Map<string, PolicyView>());
    return memo(forBusiness, agentId, () => this.buildView([business, agent]));
  }

  /** The base with `layers` stacked on it, in order. */
  private buildView(layers: readonly PolicyOverride[]): PolicyView {
    const doc = this.doc;
    let limits: SpendingLimit[] = doc.spending_limits;
    let categories = doc.categories ?? null;
    let timeWindows = doc.time_windows ?? null;
    let confirmation = doc.confirmation ?? null;
    const ruleLists: (readonly CompiledRule[])[] = [this.rules(doc.rules)];
    for (const layer of layers) {
      if (layer.spending_limits !== undefined) {
        limits = [...limits];
        for (const limit of layer.spending_limits) {
          const at = limits.findIndex((l) => l.id === limit.id);
          if (at >= 0) limits[at] = limit;
          else limits.push(limit);
        }
      }
      if (layer.categories !== undefined) categories = layer.categories;
      if (layer.time_windows !== undefined) timeWindows = layer.time_windows;
      if (layer.confirmation !== undefined) confirmation = layer.confirmation;
      if (layer.rules !== undefined) ruleLists.unshift(this.rules(layer.rules));
    }

    let compiledCategories: CompiledCategories | null = null;
    if (categories !== null && (categories.allow !== undefined || categories.block !== undefined)) {
      compiledCategories = {
        allow: categories.allow === undefined ? null : new Set(categories.allow),
        block: new Set(categories.block ?? []),
        ruleId: categories.allow === undefined ? 'category:block' : 'category:allow',
        checks: new Map(),
      };
    }

    let compiledWindows: CompiledTimeWindows | null = null;
    if (timeWindows !== null) {
      compiledWindows = {
        windows: compileWindows(timeWindows.allow),
        queue: timeWindows.outside === 'queue',
        pass: Object.freeze({
          control: 'time_window',
          result: 'pass',
          detail: 'Inside an allowed time window',
        } as const),
      };
    }

    const compiledLimits = limits.map((l) => this.limit(l));
    return {
      rules: ruleLists.flat(),
      categories: compiledCategories,
      limits: compiledLimits,
      timeWindows: compiledWindows,
      confirmation: this.confirmation(confirmation),
      effectiveLimits: Object.freeze(
        limits.map((l) =>
          Object.freeze({
            id: l.id,
            amount: l.amount,
            interval: l.interval,
            window: l.window,
            ...(l.categories === undefined ? {} : { categories: Object.freeze([...l.categories]) }),
            currency: l.currency ?? doc.currency,
          }),
        ),
      ),
    };
  }

  private confirmation(c: Confirmation | null): CompiledConfirmation | null {
    if (c === null) return null;
    return {
      always: c.always === true,
      aboveAmount: c.above_amount ?? -1,
      firstTimeBusiness: c.first_time_business === true,
      stages: this.stages([c.stage_index ?? 0]),
    };
  }

  private rules(list: readonly Rule[]): readonly CompiledRule[] {
    return memo(this.compiledRules, list, () =>
      list
        .map((rule, order) => ({ rule, order }))
        .sort((a, b) => a.rule.priority - b.rule.priority || a.order - b.order)
        .map(({ rule }): CompiledRule => {
          let stages: readonly Stage[] | null = null;
          if (rule.action === 'require_approval') stages = this.stages([rule.stage_index ?? 0]);
          else if (rule.action === 'multi_stage') stages = this.stages(rule.routing_stage_indexes ?? []);
          return {
            id: rule.id,
            ...compileMatcher(rule.match, rule.conditions, this.core.conditions),
            action: rule.action,
            reason: rule.reason,
            stages,
            check: Object.freeze({
              control: 'rule',
              id: rule.id,
              result: rule.action === 'auto_approve' ? 'pass' : 'fail',
              detail: `Rule "${rule.id}" matched: ${rule.action}${rule.reason === undefined ? '' : ` (${rule.reason})`}`,
            } as const),
          };
        }),
    );
  }

  private limit(l: SpendingLimit): CompiledLimit {
    return memo(this.compiledLimits, l, () => {
      const currency = l.currency ?? this.doc.currency;
      const check = (detail: string): Check =>
        Object.freeze({ control: 'spending_limit', id: l.id, result: 'pass', detail } as const);
      return {
        id: l.id,
        amount: l.amount,
        perTransaction: l.interval === 'per_transaction',
        interval: l.interval,
        categories: l.categories === undefined ? null : new Set(l.categories),
        currency,
        ruleId: `spending_limit:${l.id}`,
        passSuffix:
          l.interval === 'per_transaction'
            ? ` is within ${l.amount} per transaction`
            : ` of ${l.amount} per ${l.interval === 'all_time' ? 'all time' : `${l.window} ${l.interval}`}, this request included`,
        notApplicableCategory: check(
          `Not applicable: limited to categories ${(l.categories ?? []).join(', ')}`,
        ),
        notApplicableCurrency: check(`Not applicable: the limit is in ${currency}`),
        unknownAmount: check('The request has no readable amount; the limit was not checked'),
      };
    });
  }

  /** Frozen stages for indexes (validated to exist), sorted by index, without duplicates. */
  private stages(indexes: readonly number[]): readonly Stage[] {
    const out: Stage[] = [];
    for (const index of [...new Set(indexes)].sort((a, b) => a - b)) {
      const stage = this.stageByIndex.get(index);
      if (stage === undefined) throw new Error(`Policy names routing stage ${index}, which is not defined`);
      out.push(stage);
    }
    return Object.freeze(out);
  }
}

function memo<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * Compiles a document that `validatePolicy` accepted. Throws on a document that names an undefined
 * routing stage (validation rules that out).
 */
export function compilePolicy(doc: PolicyDocument, meta: PolicyMeta): CompiledPolicy {
  return new Compiled(doc, meta);
}

const CACHE_LIMIT = 1000;
const cache = new Map<string, CompiledPolicy>();

/**
 * The compiled policy for a version id, compiled on first use. Versions are immutable, so the id is
 * the whole key; the cache keeps the 1,000 most recently used versions.
 */
export function getCompiledPolicy(doc: PolicyDocument, meta: PolicyMeta): CompiledPolicy {
  const hit = cache.get(meta.versionId);
  if (hit !== undefined) {
    // Re-insert: Map iteration order is insertion order, so the first key is the least recently used.
    cache.delete(meta.versionId);
    cache.set(meta.versionId, hit);
    return hit;
  }
  const compiled = compilePolicy(doc, meta);
  cache.set(meta.versionId, compiled);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return compiled;
}

/** Empties the compiled-policy cache (tests). */
export function clearCompiledPolicyCache(): void {
  cache.clear();
}

/** Number of cached compiled policies (tests, metrics). */
export function compiledPolicyCacheSize(): number {
  return cache.size;
}

/** Whether a limit applies to a request: its categories (if any) include the business's, and its currency matches. */
export function limitApplies(limit: EffectiveLimit, category: string, currency: string): boolean {
  return (
    (limit.categories === undefined || limit.categories.includes(category)) && limit.currency === currency
  );
}
