import { z } from 'zod';
import { isValidTimeZone, WEEKDAYS } from '../timezone.ts';
import { regexProblem } from './regex.ts';

/**
 * The policy document (DESIGN §6, normative). Every object is strict: an unknown key is an error at
 * that key's path. `validatePolicy` adds the cross-field checks zod cannot express locally.
 *
 * Bounds not spelled out by DESIGN (documented choices): ids match `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`
 * (no `:`, so they never collide with the `control:detail` ids decisions use for controls); at most
 * 1,000 rules, 100 conditions per list, nesting depth 8, 100 spending limits, 32 routing stages,
 * 1,000 list entries; strings ≤ 256 characters, reasons ≤ 500.
 */

export const OPERATORS = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'not_in',
  'contains',
  'starts_with',
  'exists',
  'matches',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** Gateway facts a condition can name with `context` (plus `spend.<limit id>`). */
export const CONTEXT_FACTS = [
  'amount',
  'currency',
  'business.id',
  'business.category',
  'agent.id',
  'time.weekday',
  'time.hour',
  'time.minute',
  'history.first_time_business',
] as const;

export const INTERVALS = ['per_transaction', 'hour', 'day', 'week', 'month', 'all_time'] as const;
export const RULE_ACTIONS = ['auto_approve', 'reject', 'require_approval', 'multi_stage'] as const;
export const DEFAULT_ACTIONS = ['auto_approve', 'reject', 'require_approval'] as const;
export const WORKSPACE_ROLES = ['admin', 'developer', 'approver'] as const;

export const MIN_APPROVAL_TIMEOUT_SECONDS = 60;
export const MAX_APPROVAL_TIMEOUT_SECONDS = 2_592_000;
/** Stage deadline when `approval_timeout_seconds` is left out (documented choice: one day). */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 86_400;

const MAX_DEPTH = 8;
const MAX_CONDITIONS = 100;
const MAX_LIST = 1000;
const MAX_STRING = 256;

export type Scalar = string | number | boolean;

export interface FieldCondition {
  field: string;
  op: Operator;
  value?: Scalar | Scalar[];
}
export interface ContextCondition {
  context: string;
  op: Operator;
  value?: Scalar | Scalar[];
}
export interface AllCondition {
  all: Condition[];
}
export interface AnyCondition {
  any: Condition[];
}
export interface NotCondition {
  not: Condition;
}
export type Condition = FieldCondition | ContextCondition | AllCondition | AnyCondition | NotCondition;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const id = z
  .string()
  .regex(ID_PATTERN, 'Must be 1–64 letters, digits, "_", "." or "-", starting with a letter or digit');
const name = z.string().min(1).max(MAX_STRING);
const currency = z.string().regex(/^[A-Z]{3}$/, 'Must be a 3-letter uppercase ISO 4217 code');
const minorUnits = z.number().int().min(0);
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'Must be HH:MM (00:00–23:59)');
const endClock = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'Must be HH:MM (00:00–24:00)');
const stageIndex = z.number().int().min(0).max(1000);

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

type Issue = { path: (string | number)[]; message: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * Conditions are checked by hand rather than with a zod union, so an error lands on the exact key
 * (`rules.0.conditions.1.op`) instead of "no union member matched" at the condition.
 */
function checkCondition(input: unknown, path: (string | number)[], depth: number, issues: Issue[]): void {
  if (!isPlainObject(input)) {
    issues.push({ path, message: 'Must be a condition object' });
    return;
  }
  if (depth > MAX_DEPTH) {
    issues.push({ path, message: `Conditions may nest at most ${MAX_DEPTH} levels` });
    return;
  }
  const group = ['all', 'any', 'not'].filter((k) => k in input);
  if (group.length > 0) {
    const key = group[0] as 'all' | 'any' | 'not';
    for (const k of Object.keys(input))
      if (k !== key) issues.push({ path: [...path, k], message: `Unrecognized key: "${k}"` });
    if (key === 'not') checkCondition(input.not, [...path, 'not'], depth + 1, issues);
    else checkConditionList(input[key], [...path, key], depth + 1, issues, 1);
    return;
  }
  const hasField = 'field' in input;
  const hasContext = 'context' in input;
  for (const k of Object.keys(input)) {
    if (k !== 'field' && k !== 'context' && k !== 'op' && k !== 'value') {
      issues.push({ path: [...path, k], message: `Unrecognized key: "${k}"` });
    }
  }
  if (hasField === hasContext) {
    issues.push({
      path,
      message: hasField
        ? 'A condition names either a field or a context, not both'
        : 'A condition needs field, context, all, any or not',
    });
    return;
  }
  if (hasField) {
    const field = input.field;
    if (typeof field !== 'string' || field.length === 0 || field.length > MAX_STRING) {
      issues.push({ path: [...path, 'field'], message: 'Must be a dot path such as "metadata.region"' });
    } else if (field.split('.').some((s) => s.length === 0 || FORBIDDEN_SEGMENTS.has(s))) {
      issues.push({
        path: [...path, 'field'],
        message: 'Must be a dot path of non-empty segments such as "items.0.sku"',
      });
    }
  } else {
    const context = input.context;
    if (
      typeof context !== 'string' ||
      !((CONTEXT_FACTS as readonly string[]).includes(context) || /^spend\..+/.test(context))
    ) {
      issues.push({
        path: [...path, 'context'],
        message: `Unknown context; expected one of ${CONTEXT_FACTS.join(', ')} or spend.<limit id>`,
      });
    }
  }
  const op = input.op;
  if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
    issues.push({
      path: [...path, 'op'],
      message: `Unknown operator; expected one of ${OPERATORS.join(', ')}`,
    });
    return;
  }
  const valuePath = [...path, 'value'];
  const value = input.value;
  if (op === 'exists') {
    if ('value' in input && typeof value !== 'boolean') {
      issues.push({
        path: valuePath,
        message: 'exists takes no value, or a boolean (false: the value is missing)',
      });
    }
    return;
  }
  if (!('value' in input)) {
    issues.push({ path: valuePath, message: `Required for operator ${op}` });
    return;
  }
  switch (op) {
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        issues.push({ path: valuePath, message: `Operator ${op} compares numbers; value must be a number` });
      }
      return;
    case 'in':
    case 'not_in':
      if (!Array.isArray(value) || value.length > MAX_LIST || !value.every(isScalar)) {
        issues.push({
          path: valuePath,
          message: `Operator ${op} needs an array of strings, numbers or booleans`,
        });
      }
      return;
    case 'starts_with':
      if (typeof value !== 'string')
        issues.push({ path: valuePath, message: 'starts_with needs a string value' });
      return;
    case 'matches': {
      if (typeof value !== 'string') {
        issues.push({ path: valuePath, message: 'matches needs a regular expression string' });
        return;
      }
      const problem = regexProblem(value);
      if (problem !== null) issues.push({ path: valuePath, message: problem });
      return;
    }
    default:
      if (!isScalar(value)) {
        issues.push({ path: valuePath, message: `Operator ${op} needs a string, number or boolean value` });
      }
  }
}

function checkConditionList(
  input: unknown,
  path: (string | number)[],
  depth: number,
  issues: Issue[],
  min: number,
): void {
  if (!Array.isArray(input) || input.length < min || input.length > MAX_CONDITIONS) {
    issues.push({ path, message: `Must be an array of ${min}–${MAX_CONDITIONS} conditions` });
    return;
  }
  input.forEach((item, i) => {
    checkCondition(item, [...path, i], depth, issues);
  });
}

const conditions = z.custom<Condition[]>().superRefine((value, ctx) => {
  const issues: Issue[] = [];
  checkConditionList(value, [], 1, issues, 0);
  for (const issue of issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
});

/** Adds an issue at `[i, key]` for every entry whose `key` repeats an earlier entry's. */
function unique<T>(key: keyof T & string, what: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<unknown>();
    items.forEach((item, i) => {
      const v = item[key];
      if (seen.has(v))
        ctx.addIssue({ code: 'custom', message: `Duplicate ${what} ${JSON.stringify(v)}`, path: [i, key] });
      seen.add(v);
    });
  };
}

const categoryList = z.array(name).max(MAX_LIST);

/*
 * The `.describe()` texts below are the field descriptions of the policy reference: the tables in
 * docs/policies.md are generated from this schema (`npx tsx docs/generate-policy-reference.ts`), and
 * test/docs checks that the committed tables match it.
 */

export const categoriesSchema = z
  .strictObject({
    allow: categoryList
      .optional()
      .describe('Only businesses in these categories may be called; every other category is refused.'),
    block: categoryList.optional().describe('Businesses in these categories are refused.'),
  })
  .superRefine((value, ctx) => {
    if (value.allow !== undefined && value.block !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'Use either allow or block, not both', path: [] });
    }
  });

export const spendingLimitSchema = z.strictObject({
  id: id.describe(
    'Names the limit: in decisions (`spending_limit:<id>`), in `spend.<id>` contexts, and in overrides (a limit with the same id replaces it).',
  ),
  amount: minorUnits.describe(
    'The limit, in integer minor units (cents). A request passes when the spend counted in the window plus its own amount is at most this.',
  ),
  interval: z
    .enum(INTERVALS)
    .describe(
      '`per_transaction` compares the request’s own amount; the others count spend over a window (`week` starts on Monday; `all_time` counts everything ever admitted).',
    ),
  window: z
    .enum(['rolling', 'calendar'])
    .default('rolling')
    .describe(
      '`rolling`: the last interval up to now. `calendar`: since the start of the current hour, day, week or month on the policy’s clock.',
    ),
  categories: z
    .array(name)
    .min(1)
    .max(MAX_LIST)
    .optional()
    .describe(
      'Only requests to businesses in these categories are checked, and only their spend counts. Left out: every request.',
    ),
  currency: currency
    .optional()
    .describe(
      'The currency the limit is kept in; default the policy’s `currency`. Requests in another currency are neither checked nor counted.',
    ),
});

const spendingLimits = z.array(spendingLimitSchema).max(100).superRefine(unique('id', 'limit id'));

export const timeWindowSchema = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1).max(7).describe('The weekdays the window opens on.'),
    start: clock.describe('Opening time on the policy’s clock, `HH:MM`, inclusive.'),
    end: endClock.describe(
      'Closing time, `HH:MM`, exclusive; `24:00` is midnight. An end before the start runs past midnight into the next day.',
    ),
  })
  .superRefine((value, ctx) => {
    if (value.start === value.end) {
      ctx.addIssue({ code: 'custom', message: 'end must differ from start', path: ['end'] });
    }
  });

export const timeWindowsSchema = z.strictObject({
  allow: z
    .array(timeWindowSchema)
    .min(1)
    .max(100)
    .describe('The open windows: a request is inside when any of them covers the current time.'),
  outside: z
    .enum(['reject', 'queue'])
    .default('reject')
    .describe(
      'Outside every window: `reject` refuses the request; `queue` parks it and executes it when the next window opens (the policy decides again then).',
    ),
});

export const confirmationSchema = z.strictObject({
  always: z.boolean().optional().describe('`true`: every execute needs approval.'),
  above_amount: minorUnits
    .optional()
    .describe('An execute whose amount is above this (minor units) needs approval.'),
  first_time_business: z
    .boolean()
    .optional()
    .describe(
      '`true`: an execute with a business the workspace has no succeeded execute with yet needs approval.',
    ),
  /** Default 0 (applied by the compiler; left unset so validation can tell "given" from "defaulted"). */
  stage_index: stageIndex
    .optional()
    .describe('The routing stage that approves these requests; 0 when left out.'),
});

export const ruleSchema = z.strictObject({
  id: id.describe(
    'Names the rule in decisions (`ruleId`). Unique in the document; an override’s rules may not reuse a base rule’s id.',
  ),
  /** Default 0; ties keep document order. */
  priority: z
    .number()
    .int()
    .default(0)
    .describe('Rules run by ascending priority; equal priorities keep document order.'),
  match: z
    .enum(['all', 'any'])
    .default('all')
    .describe('`all`: every condition must hold. `any`: one is enough.'),
  /** Default `[]`: with match `all` the rule always matches, with `any` never. */
  conditions: conditions
    .default([])
    .describe('What the rule matches on. Empty: `all` always matches, `any` never does.'),
  action: z
    .enum(RULE_ACTIONS)
    .describe(
      'What a match leads to: let it through, refuse it, or ask people (one stage, or several in order).',
    ),
  reason: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe(
      'Told to the agent (the `error` of a refusal) and shown to approvers. Required when `action` is `reject`.',
    ),
  /** require_approval only; default 0 (applied by the compiler). */
  stage_index: stageIndex
    .optional()
    .describe('`require_approval` only: the routing stage to ask; 0 when left out.'),
  /** multi_stage only. */
  routing_stage_indexes: z
    .array(stageIndex)
    .max(32)
    .optional()
    .describe(
      '`multi_stage` only (and required there): the routing stages to ask, run in ascending index order.',
    ),
});

const rules = z.array(ruleSchema).max(1000).superRefine(unique('id', 'rule id'));

export const routingStageSchema = z.strictObject({
  stage_index: stageIndex.describe(
    'The number rules and controls name this stage by. Unique; stages run in ascending order.',
  ),
  role: z
    .enum(WORKSPACE_ROLES)
    .describe('The workspace role that decides: every member with it is notified and may vote.'),
  tier: z
    .enum(['standard', 'critical_otp'])
    .default('standard')
    .describe(
      '`critical_otp`: an approver also enters a 6-digit code emailed to them (valid 10 minutes, 5 tries).',
    ),
  quorum: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(1)
    .describe('How many distinct members must approve the stage. One rejection rejects the request.'),
  /** Range checked by validatePolicy (the minimum is an operator setting); default one day. */
  approval_timeout_seconds: z
    .number()
    .int()
    .optional()
    .describe(
      'The stage’s deadline, counted from when it became active: 60 to 2,592,000 (30 days; the operator may raise the minimum with `APPROVAL_TIMEOUT_MIN_SECONDS`). 86,400 (one day) when left out.',
    ),
  on_approval_timeout: z
    .enum(['reject', 'escalate_next'])
    .default('reject')
    .describe(
      'At the deadline: `reject` ends the request as expired; `escalate_next` hands it to the next stage of the request (expired when there is none).',
    ),
});

/** An override replaces or extends the base for one business or agent; `null` removes a control. */
export const overrideSchema = z.strictObject({
  spending_limits: spendingLimits
    .optional()
    .describe('Merged with the base limits by `id`: the same id replaces that limit, a new id adds one.'),
  categories: categoriesSchema
    .nullable()
    .optional()
    .describe('Replaces the base `categories`; `null` removes them.'),
  time_windows: timeWindowsSchema
    .nullable()
    .optional()
    .describe('Replaces the base `time_windows`; `null` removes them.'),
  confirmation: confirmationSchema
    .nullable()
    .optional()
    .describe('Replaces the base `confirmation`; `null` removes it.'),
  rules: rules
    .optional()
    .describe('Run before the base rules (their ids must differ from the base rules’ ids).'),
});

const overrides = z.record(z.string().min(1).max(MAX_STRING), overrideSchema).default({});

export const policySchema = z.strictObject({
  timezone: z
    .string()
    .refine(isValidTimeZone, 'Unknown time zone; use an IANA name such as "Europe/Berlin"')
    .default('UTC')
    .describe(
      'The IANA time zone of the policy’s clock: time windows, calendar spend windows and the `time.*` contexts.',
    ),
  currency: currency
    .default('USD')
    .describe(
      'ISO 4217 code. Spending limits without a `currency` of their own are kept in it, and a request without a `currency` field is taken to be in it.',
    ),
  default_action: z
    .enum(DEFAULT_ACTIONS)
    .default('auto_approve')
    .describe('What a request gets when no rule matches. `require_approval` asks the lowest defined stage.'),
  categories: categoriesSchema.optional().describe('Business categories allowed, or blocked.'),
  spending_limits: spendingLimits
    .default([])
    .describe('Limits on amounts: per transaction, or over a rolling or calendar window.'),
  on_limit_exceeded: z
    .enum(['reject', 'require_approval'])
    .default('reject')
    .describe(
      'What a request over a spending limit gets: refused, or sent for approval to the lowest defined stage.',
    ),
  time_windows: timeWindowsSchema
    .optional()
    .describe('When agents may act; outside the windows a request is refused or queued.'),
  confirmation: confirmationSchema.optional().describe('Requests that need approval whatever the rules say.'),
  rules: rules.default([]).describe('Conditions and what they lead to; the first match wins.'),
  routing_stages: z
    .array(routingStageSchema)
    .max(32)
    .superRefine(unique('stage_index', 'stage_index'))
    .default([])
    .describe('The approval stages that rules and controls send requests to.'),
  business_overrides: overrides.describe(
    'By business id: controls that replace or extend the base for requests to that business.',
  ),
  agent_overrides: overrides.describe(
    'By agent id: controls stacked on the base (and on a business override) for that agent’s requests.',
  ),
});

/** A validated policy document, defaults applied. */
export type PolicyDocument = z.output<typeof policySchema>;
/** A policy document as written (defaults not yet applied). */
export type PolicyDocumentInput = z.input<typeof policySchema>;
export type Rule = z.output<typeof ruleSchema>;
export type SpendingLimit = z.output<typeof spendingLimitSchema>;
export type RoutingStage = z.output<typeof routingStageSchema>;
export type Categories = z.output<typeof categoriesSchema>;
export type TimeWindows = z.output<typeof timeWindowsSchema>;
export type Confirmation = z.output<typeof confirmationSchema>;
export type PolicyOverride = z.output<typeof overrideSchema>;

export interface PolicyIssue {
  /** Dotted path to the offending key (`rules.0.conditions.1.op`); `""` for the document itself. */
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; policy: PolicyDocument } | { ok: false; issues: PolicyIssue[] };

export interface ValidateOptions {
  /** APPROVAL_TIMEOUT_MIN_SECONDS: raises the lower bound of `approval_timeout_seconds` (default 60). */
  minApprovalTimeoutSeconds?: number;
}

/** Validates a policy document: structure (strict), then cross-field rules. */
export function validatePolicy(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const parsed = policySchema.safeParse(input);
  if (!parsed.success) {
    const issues: PolicyIssue[] = [];
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys)
          issues.push({ path: formatPath([...issue.path, key]), message: `Unrecognized key: "${key}"` });
      } else {
        issues.push({ path: formatPath(issue.path), message: issue.message });
      }
    }
    return { ok: false, issues };
  }
  const issues = crossFieldIssues(
    parsed.data,
    options.minApprovalTimeoutSeconds ?? MIN_APPROVAL_TIMEOUT_SECONDS,
  );
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, policy: parsed.data };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

/** Every leaf condition in a list, with its path. */
function* leaves(
  list: readonly Condition[],
  path: string,
): Generator<[FieldCondition | ContextCondition, string]> {
  for (let i = 0; i < list.length; i++) yield* leavesOf(list[i] as Condition, `${path}.${i}`);
}

function* leavesOf(c: Condition, path: string): Generator<[FieldCondition | ContextCondition, string]> {
  if ('all' in c) yield* leaves(c.all, `${path}.all`);
  else if ('any' in c) yield* leaves(c.any, `${path}.any`);
  else if ('not' in c) yield* leavesOf(c.not, `${path}.not`);
  else yield [c, path];
}

function crossFieldIssues(doc: PolicyDocument, minTimeout: number): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const stages = new Set(doc.routing_stages.map((s) => s.stage_index));
  const noStages = 'routing_stages is empty, so nothing can approve';

  doc.routing_stages.forEach((stage, i) => {
    const timeout = stage.approval_timeout_seconds;
    if (timeout === undefined) {
      if (DEFAULT_APPROVAL_TIMEOUT_SECONDS < minTimeout) {
        add(
          `routing_stages.${i}.approval_timeout_seconds`,
          `Required: the default ${DEFAULT_APPROVAL_TIMEOUT_SECONDS} is below the operator minimum ${minTimeout}`,
        );
      }
    } else if (timeout < minTimeout || timeout > MAX_APPROVAL_TIMEOUT_SECONDS) {
      add(
        `routing_stages.${i}.approval_timeout_seconds`,
        `Must be between ${minTimeout} and ${MAX_APPROVAL_TIMEOUT_SECONDS} seconds`,
      );
    }
  });

  const limitIds = new Set<string>();
  for (const l of doc.spending_limits) limitIds.add(l.id);
  for (const o of [...Object.values(doc.business_overrides), ...Object.values(doc.agent_overrides)]) {
    for (const l of o.spending_limits ?? []) limitIds.add(l.id);
  }

  const checkRules = (list: readonly Rule[], path: string, baseIds: ReadonlySet<string> | null) => {
    list.forEach((rule, i) => {
      const at = `${path}.${i}`;
      if (baseIds?.has(rule.id)) add(`${at}.id`, `Rule id "${rule.id}" is already used by a base rule`);
      if (rule.action === 'reject' && rule.reason === undefined)
        add(`${at}.reason`, 'Required when action is reject');
      if (rule.stage_index !== undefined && rule.action !== 'require_approval') {
        add(`${at}.stage_index`, 'Only allowed when action is require_approval');
      }
      if (rule.routing_stage_indexes !== undefined && rule.action !== 'multi_stage') {
        add(`${at}.routing_stage_indexes`, 'Only allowed when action is multi_stage');
      }
      if (rule.action === 'require_approval') {
        if (stages.size === 0) add(`${at}.action`, `require_approval needs a routing stage, but ${noStages}`);
        else if (!stages.has(rule.stage_index ?? 0)) {
          add(
            `${at}.stage_index`,
            rule.stage_index === undefined
              ? 'Defaults to stage 0, which routing_stages does not define'
              : `Stage ${rule.stage_index} is not defined in routing_stages`,
          );
        }
      }
      if (rule.action === 'multi_stage') {
        const indexes = rule.routing_stage_indexes;
        if (indexes === undefined || indexes.length === 0) {
          add(`${at}.routing_stage_indexes`, 'multi_stage needs a non-empty list of stage indexes');
        } else if (stages.size === 0) {
          add(`${at}.action`, `multi_stage needs routing stages, but ${noStages}`);
        } else {
          indexes.forEach((index, j) => {
            if (!stages.has(index))
              add(`${at}.routing_stage_indexes.${j}`, `Stage ${index} is not defined in routing_stages`);
          });
        }
      }
      for (const [leaf, leafPath] of leaves(rule.conditions, `${at}.conditions`)) {
        if ('context' in leaf && leaf.context.startsWith('spend.') && !limitIds.has(leaf.context.slice(6))) {
          add(`${leafPath}.context`, `No spending limit has id "${leaf.context.slice(6)}"`);
        }
      }
    });
  };

  const checkConfirmation = (c: Confirmation | null | undefined, path: string) => {
    if (!c) return;
    const demands = c.always === true || c.above_amount !== undefined || c.first_time_business === true;
    if (stages.size === 0) {
      if (demands) add(path, `Confirmation requires approval, but ${noStages}`);
      else if (c.stage_index !== undefined)
        add(`${path}.stage_index`, `Stage ${c.stage_index} is not defined in routing_stages`);
    } else if (!stages.has(c.stage_index ?? 0) && (demands || c.stage_index !== undefined)) {
      add(
        `${path}.stage_index`,
        c.stage_index === undefined
          ? 'Defaults to stage 0, which routing_stages does not define'
          : `Stage ${c.stage_index} is not defined in routing_stages`,
      );
    }
  };

  if (doc.default_action === 'require_approval' && stages.size === 0) {
    add('default_action', `require_approval needs a routing stage, but ${noStages}`);
  }
  if (doc.on_limit_exceeded === 'require_approval' && stages.size === 0) {
    add('on_limit_exceeded', `require_approval needs a routing stage, but ${noStages}`);
  }
  checkConfirmation(doc.confirmation, 'confirmation');
  checkRules(doc.rules, 'rules', null);
  const baseIds = new Set(doc.rules.map((r) => r.id));
  for (const [kind, map] of [
    ['business_overrides', doc.business_overrides],
    ['agent_overrides', doc.agent_overrides],
  ] as const) {
    for (const [key, o] of Object.entries(map)) {
      const path = `${kind}.${key}`;
      checkConfirmation(o.confirmation, `${path}.confirmation`);
      if (o.rules) checkRules(o.rules, `${path}.rules`, baseIds);
    }
  }
  return issues;
}
