import { type ConditionEnv, type Leaf, nextGeneration, type Predicate, testLeaves } from './conditions.ts';
import type { Facts } from './facts.ts';
import type { Zone } from './timezone.ts';
import type { Interval, WindowKind } from './windows.ts';
import { type CompiledWindow, insideCompiled, nextOpenCompiled } from './windows.ts';

/**
 * The decision (DESIGN §6): the strictest of the rule outcome and every control,
 * reject > queue > approval > auto_approve.
 *
 * Documented choices:
 * - Decisions share frozen `Check`, `Stage` and `policy` objects between evaluations (they are built
 *   once at compile time); copy before mutating.
 * - Every configured control adds checks: one `rule` check (the matching rule, or the default action),
 *   one `category` check when categories are set, one `spending_limit` check per effective limit
 *   (limits that do not apply pass with "not applicable"), one `time_window` and one `confirmation`
 *   check when those are set. `fail` means the control did not let the request through as is
 *   (it rejects, queues or asks for approval).
 * - Check ids: the rule's id (or `default_action:<action>`), `allow`/`block`, the limit id, `outside`,
 *   the confirmation trigger. `ruleId`: a rule's id, or for a control `category:allow|block`,
 *   `spending_limit:<id>`, `time_window:outside`, `confirmation:always|above_amount|first_time_business`,
 *   `default_action:reject|require_approval` (rule ids cannot contain `:`). For reject it names the
 *   first failing source in the order rule, category, spending_limit, time_window; for approval the
 *   first of rule, spending_limit, confirmation; for auto_approve the matching rule, if any.
 * - Spending limits apply when their `categories` (if any) include the business category and their
 *   currency (default the policy's) equals `facts.currency`; one in another currency does not apply.
 *   An unknown amount passes (and says so); a missing `spend[id]` counts as 0.
 * - `on_limit_exceeded: require_approval` and `default_action: require_approval` ask the lowest defined
 *   routing stage (stage 0 when it exists).
 * - A queue whose windows never open again (none within 15 days) rejects instead.
 */

export interface Stage {
  index: number;
  role: string;
  tier: 'standard' | 'critical_otp';
  quorum: number;
  timeoutSeconds: number;
  onTimeout: 'reject' | 'escalate_next';
}

export interface Check {
  control: 'rule' | 'category' | 'spending_limit' | 'time_window' | 'confirmation';
  id?: string;
  result: 'pass' | 'fail';
  detail: string;
}

export type Outcome = 'auto_approve' | 'reject' | 'approval' | 'queue';

export interface Decision {
  outcome: Outcome;
  ruleId?: string;
  reason?: string;
  /** Approval only: every approval source's stages, by index, without duplicates (a fresh array). */
  stages?: Stage[];
  /** Queue only: ISO 8601 UTC. */
  releaseAt?: string;
  checks: Check[];
  policy: { name: string; version: number };
}

/** A spending limit after overrides are merged, defaults applied. */
export interface EffectiveLimit {
  id: string;
  amount: number;
  interval: Interval;
  window: WindowKind;
  categories?: readonly string[];
  currency: string;
}

export interface CompiledPolicy {
  readonly name: string;
  readonly version: number;
  readonly versionId: string;
  readonly timezone: string;
  readonly currency: string;
  /** Whether any rule or trigger reads `history.first_time_business` (else the caller need not look it up). */
  readonly usesHistory: boolean;
  evaluate(facts: Facts): Decision;
  /** The limits in force for this business and agent (overrides merged), whether or not they apply. */
  limitsFor(businessId: string, agentId: string): readonly EffectiveLimit[];
  /** `windowStart` in this policy's time zone. */
  windowStartFor(limit: EffectiveLimit, now: number): number | null;
}

// ---- compiled forms, built by compile.ts ----

export type RuleAction = 'auto_approve' | 'reject' | 'require_approval' | 'multi_stage';

export interface CompiledRule {
  id: string;
  /** Plain-leaf rules: their leaves (tested without a closure call); otherwise null and `test`. */
  leaves: readonly Leaf[] | null;
  any: boolean;
  test: Predicate;
  action: RuleAction;
  reason: string | undefined;
  /** Approval actions only. */
  stages: readonly Stage[] | null;
  /** The shared, frozen check reported when this rule matches. */
  check: Check;
}

export interface CompiledLimit {
  id: string;
  amount: number;
  perTransaction: boolean;
  interval: Interval;
  categories: ReadonlySet<string> | null;
  currency: string;
  ruleId: string;
  /** Static tail of a passing check's detail (one number is interpolated on the hot path). */
  passSuffix: string;
  notApplicableCategory: Check;
  notApplicableCurrency: Check;
  unknownAmount: Check;
}

export interface CompiledCategories {
  allow: ReadonlySet<string> | null;
  block: ReadonlySet<string>;
  ruleId: string;
  /** Checks by business category, memoised (bounded). */
  checks: Map<string, Check>;
}

export interface CompiledTimeWindows {
  windows: readonly CompiledWindow[];
  queue: boolean;
  pass: Check;
}

export interface CompiledConfirmation {
  always: boolean;
  /** -1 when not set. */
  aboveAmount: number;
  firstTimeBusiness: boolean;
  stages: readonly Stage[];
}

/** What applies to one business/agent pair: the base with its overrides stacked. */
export interface PolicyView {
  rules: readonly CompiledRule[];
  categories: CompiledCategories | null;
  limits: readonly CompiledLimit[];
  timeWindows: CompiledTimeWindows | null;
  confirmation: CompiledConfirmation | null;
  effectiveLimits: readonly EffectiveLimit[];
}

export interface PolicyCore {
  zone: Zone;
  /** Shared read cache of every compiled condition of this policy. */
  conditions: ConditionEnv;
  timezone: string;
  policyRef: { name: string; version: number };
  defaultAction: 'auto_approve' | 'reject' | 'require_approval';
  defaultCheck: Check;
  /** Stages for default_action require_approval and on_limit_exceeded require_approval: the lowest defined. */
  lowestStage: readonly Stage[];
  limitApproval: boolean;
}

const DEFAULT_REJECT_REASON = 'No rule matched and the policy default_action is reject';
const OUTSIDE = 'Outside the allowed time windows';
const MAX_CATEGORY_CHECKS = 1000;

function categoryCheck(c: CompiledCategories, category: string, ok: boolean): Check {
  let check = c.checks.get(category);
  if (check === undefined) {
    const detail = c.allow
      ? ok
        ? `Business category "${category}" is allowed`
        : `Business category "${category}" is not in the allowed categories`
      : ok
        ? `Business category "${category}" is not blocked`
        : `Business category "${category}" is blocked`;
    check = Object.freeze({
      control: 'category',
      id: c.allow ? 'allow' : 'block',
      result: ok ? 'pass' : 'fail',
      detail,
    } as const);
    if (c.checks.size < MAX_CATEGORY_CHECKS) c.checks.set(category, check);
  }
  return check;
}

function mergeStages(a: readonly Stage[], b: readonly Stage[]): readonly Stage[] {
  const out: Stage[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.index < y.index)) {
      out.push(x as Stage);
      i++;
    } else if (x === undefined || y.index < x.index) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  return out;
}

/** The hot path: no closures created, few allocations (the checks and their dynamic details). */
export function evaluateView(core: PolicyCore, view: PolicyView, facts: Facts): Decision {
  const checks: Check[] = [];
  let rejectId: string | undefined;
  let rejectReason: string | undefined;
  let approvalId: string | undefined;
  let approvalReason: string | undefined;
  let stages: readonly Stage[] | null = null;

  // Rules: ascending priority, first match wins (pre-sorted at compile time).
  const env = core.conditions;
  nextGeneration(env);
  let matched: CompiledRule | null = null;
  const rules = view.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule;
    const leaves = rule.leaves;
    if (leaves === null ? rule.test(facts) : testLeaves(env, leaves, rule.any, facts)) {
      matched = rule;
      break;
    }
  }
  if (matched !== null) {
    checks.push(matched.check);
    if (matched.action === 'reject') {
      rejectId = matched.id;
      rejectReason = matched.reason;
    } else if (matched.stages !== null) {
      stages = matched.stages;
      approvalId = matched.id;
      approvalReason = matched.reason;
    }
  } else {
    checks.push(core.defaultCheck);
    if (core.defaultAction === 'reject') {
      rejectId = 'default_action:reject';
      rejectReason = DEFAULT_REJECT_REASON;
    } else if (core.defaultAction === 'require_approval') {
      stages = core.lowestStage;
      approvalId = 'default_action:require_approval';
      approvalReason = 'No rule matched and the policy default_action is require_approval';
    }
  }

  const category = facts.business.category;
  const categories = view.categories;
  if (categories !== null) {
    const ok = categories.allow !== null ? categories.allow.has(category) : !categories.block.has(category);
    const check = categoryCheck(categories, category, ok);
    checks.push(check);
    if (!ok && rejectId === undefined) {
      rejectId = categories.ruleId;
      rejectReason = check.detail;
    }
  }

  const amount = facts.amount;
  const limits = view.limits;
  let limitStages = false;
  for (let i = 0; i < limits.length; i++) {
    const limit = limits[i] as CompiledLimit;
    if (limit.categories !== null && !limit.categories.has(category)) {
      checks.push(limit.notApplicableCategory);
      continue;
    }
    if (limit.currency !== facts.currency) {
      checks.push(limit.notApplicableCurrency);
      continue;
    }
    if (amount === null) {
      checks.push(limit.unknownAmount);
      continue;
    }
    if (limit.perTransaction) {
      if (amount <= limit.amount) {
        checks.push({
          control: 'spending_limit',
          id: limit.id,
          result: 'pass',
          detail: `Amount ${amount}${limit.passSuffix}`,
        });
        continue;
      }
      const detail = `Amount ${amount} exceeds the per-transaction limit "${limit.id}" of ${limit.amount}`;
      checks.push({ control: 'spending_limit', id: limit.id, result: 'fail', detail });
      if (core.limitApproval) {
        if (!limitStages) {
          limitStages = true;
          if (approvalId === undefined) {
            approvalId = limit.ruleId;
            approvalReason = detail;
          }
        }
      } else if (rejectId === undefined) {
        rejectId = limit.ruleId;
        rejectReason = detail;
      }
      continue;
    }
    const spent = facts.spend[limit.id];
    const counted = typeof spent === 'number' ? spent : 0;
    if (counted + amount <= limit.amount) {
      checks.push({
        control: 'spending_limit',
        id: limit.id,
        result: 'pass',
        detail: `Spend ${counted + amount}${limit.passSuffix}`,
      });
      continue;
    }
    const detail = `Spending limit "${limit.id}" exceeded: ${counted} counted + ${amount} > ${limit.amount} per ${limit.interval}`;
    checks.push({ control: 'spending_limit', id: limit.id, result: 'fail', detail });
    if (core.limitApproval) {
      if (!limitStages) {
        limitStages = true;
        if (approvalId === undefined) {
          approvalId = limit.ruleId;
          approvalReason = detail;
        }
      }
    } else if (rejectId === undefined) {
      rejectId = limit.ruleId;
      rejectReason = detail;
    }
  }
  if (limitStages) stages = stages === null ? core.lowestStage : mergeStages(stages, core.lowestStage);

  let releaseAt: number | null = null;
  const timeWindows = view.timeWindows;
  if (timeWindows !== null) {
    if (insideCompiled(timeWindows.windows, core.zone.local(facts.now))) {
      checks.push(timeWindows.pass);
    } else {
      const opens =
        timeWindows.queue && rejectId === undefined
          ? nextOpenCompiled(timeWindows.windows, facts.now, core.timezone)
          : null;
      if (opens !== null) {
        releaseAt = opens;
        checks.push({
          control: 'time_window',
          id: 'outside',
          result: 'fail',
          detail: `${OUTSIDE}; queued until ${new Date(opens).toISOString()}`,
        });
      } else {
        const detail =
          timeWindows.queue && rejectId === undefined ? `${OUTSIDE}, and none opens again` : OUTSIDE;
        checks.push({ control: 'time_window', id: 'outside', result: 'fail', detail });
        if (rejectId === undefined) {
          rejectId = 'time_window:outside';
          rejectReason = detail;
        }
      }
    }
  }

  const confirmation = view.confirmation;
  if (confirmation !== null) {
    let trigger: string | undefined;
    let detail: string | undefined;
    if (confirmation.always) {
      trigger = 'always';
      detail = 'Confirmation is always required';
    } else if (confirmation.aboveAmount >= 0 && amount !== null && amount > confirmation.aboveAmount) {
      trigger = 'above_amount';
      detail = `Confirmation required: amount ${amount} is above ${confirmation.aboveAmount}`;
    } else if (confirmation.firstTimeBusiness && facts.firstTimeBusiness) {
      trigger = 'first_time_business';
      detail = 'Confirmation required: first execute with this business';
    }
    if (trigger === undefined) {
      checks.push(CONFIRMATION_PASS);
    } else {
      checks.push({ control: 'confirmation', id: trigger, result: 'fail', detail: detail as string });
      stages = stages === null ? confirmation.stages : mergeStages(stages, confirmation.stages);
      if (approvalId === undefined) {
        approvalId = `confirmation:${trigger}`;
        approvalReason = detail;
      }
    }
  }

  if (rejectId !== undefined) {
    return {
      outcome: 'reject',
      ruleId: rejectId,
      reason: rejectReason,
      stages: undefined,
      releaseAt: undefined,
      checks,
      policy: core.policyRef,
    };
  }
  if (releaseAt !== null) {
    const iso = new Date(releaseAt).toISOString();
    return {
      outcome: 'queue',
      ruleId: 'time_window:outside',
      reason: `${OUTSIDE}; queued until ${iso}`,
      stages: undefined,
      releaseAt: iso,
      checks,
      policy: core.policyRef,
    };
  }
  if (stages !== null) {
    return {
      outcome: 'approval',
      ruleId: approvalId,
      reason: approvalReason,
      stages: stages.slice(),
      releaseAt: undefined,
      checks,
      policy: core.policyRef,
    };
  }
  return {
    outcome: 'auto_approve',
    ruleId: matched?.id,
    reason: matched?.reason,
    stages: undefined,
    releaseAt: undefined,
    checks,
    policy: core.policyRef,
  };
}

const CONFIRMATION_PASS: Check = Object.freeze({
  control: 'confirmation',
  result: 'pass',
  detail: 'No confirmation requirement applies',
});
