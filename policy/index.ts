/** The policy engine's public API (DESIGN §6): pure, no I/O. */
export { hasInvalidAmount, normaliseAmount, requestCurrency } from './amount.ts';
export {
  clearCompiledPolicyCache,
  compiledPolicyCacheSize,
  compilePolicy,
  getCompiledPolicy,
  limitApplies,
  type PolicyMeta,
} from './compile.ts';
export { toNumber } from './conditions.ts';
export { MAX_PATTERN_LENGTH, regexProblem } from './document/regex.ts';
export {
  type AllCondition,
  type AnyCondition,
  type Categories,
  CONTEXT_FACTS,
  type Condition,
  type Confirmation,
  type ContextCondition,
  DEFAULT_APPROVAL_TIMEOUT_SECONDS,
  type FieldCondition,
  INTERVALS,
  MAX_APPROVAL_TIMEOUT_SECONDS,
  MIN_APPROVAL_TIMEOUT_SECONDS,
  type NotCondition,
  OPERATORS,
  type Operator,
  type PolicyDocument,
  type PolicyDocumentInput,
  type PolicyIssue,
  type PolicyOverride,
  policySchema,
  type RoutingStage,
  type Rule,
  type Scalar,
  type SpendingLimit,
  type TimeWindows,
  type ValidateOptions,
  type ValidationResult,
  validatePolicy,
} from './document/schema.ts';
export type { Check, CompiledPolicy, Decision, EffectiveLimit, Outcome, Stage } from './evaluate.ts';
export type { Facts } from './facts.ts';
export { isValidTimeZone, WEEKDAYS, type Weekday } from './timezone.ts';
export {
  type AllowWindow,
  type Interval,
  isWithinTimeWindows,
  type LimitWindow,
  nextWindowOpen,
  type WindowKind,
  windowStart,
} from './windows.ts';
