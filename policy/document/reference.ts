/**
 * The policy document's field reference as data, read from its zod schema (the `.describe()` texts,
 * types, bounds and defaults of `z.toJSONSchema`), with the operators and contexts explained here.
 * Two readers render it: docs/generate-policy-reference.ts writes the tables of docs/policies.md,
 * and the console's help page (/console/help/policy) shows the same tables as HTML, offline.
 *
 * Every text is inline Markdown of two kinds only: `code` spans and links to a section of this
 * reference, `[title](#slug)`. Nothing is escaped for a table: each renderer escapes for its format.
 */
import { z } from 'zod';
import {
  CONTEXT_FACTS,
  categoriesSchema,
  confirmationSchema,
  OPERATORS,
  type Operator,
  overrideSchema,
  policySchema,
  routingStageSchema,
  ruleSchema,
  spendingLimitSchema,
  timeWindowSchema,
  timeWindowsSchema,
} from './schema.ts';

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  default?: unknown;
  description?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
};

/** One object of the document, one table. `title` is also the heading its links point at. */
interface Section {
  title: string;
  /** Where it sits in a document. */
  path: string;
  schema: z.ZodType;
}

const SECTIONS: Section[] = [
  { title: 'Document', path: 'the top level', schema: policySchema },
  { title: 'Categories', path: '`categories`', schema: categoriesSchema },
  { title: 'Spending limit', path: 'each entry of `spending_limits`', schema: spendingLimitSchema },
  { title: 'Time windows', path: '`time_windows`', schema: timeWindowsSchema },
  { title: 'Time window', path: 'each entry of `time_windows.allow`', schema: timeWindowSchema },
  { title: 'Confirmation', path: '`confirmation`', schema: confirmationSchema },
  { title: 'Rule', path: 'each entry of `rules`', schema: ruleSchema },
  { title: 'Routing stage', path: 'each entry of `routing_stages`', schema: routingStageSchema },
  {
    title: 'Override',
    path: 'each value of `business_overrides` (keyed by business id) and `agent_overrides` (keyed by agent id)',
    schema: overrideSchema,
  },
];

/** What each operator does (written here; every operator of the schema must have an entry). */
export const OPERATOR_DOCS: Record<Operator, { value: string; meaning: string }> = {
  eq: { value: 'string, number or boolean', meaning: 'equal' },
  neq: { value: 'string, number or boolean', meaning: 'present and not equal' },
  gt: { value: 'number', meaning: 'greater than' },
  gte: { value: 'number', meaning: 'greater than or equal' },
  lt: { value: 'number', meaning: 'less than' },
  lte: { value: 'number', meaning: 'less than or equal' },
  in: { value: 'array of strings, numbers or booleans (≤ 1,000)', meaning: 'equal to one of them' },
  not_in: {
    value: 'array of strings, numbers or booleans (≤ 1,000)',
    meaning: 'present and equal to none of them',
  },
  contains: {
    value: 'string, number or boolean',
    meaning: 'a string containing the value (case-sensitive), or an array with an element equal to it',
  },
  starts_with: { value: 'string', meaning: 'a string starting with the value' },
  exists: {
    value: 'none, or a boolean',
    meaning: 'present (not missing, not `null`); with `"value": false`, missing',
  },
  matches: {
    value: 'regular expression (≤ 256 characters)',
    meaning: 'a string the pattern matches somewhere (anchor it with `^…$` to match it whole)',
  },
};

/** What each gateway fact is (every fact the schema accepts must have an entry). */
const CONTEXT_DOCS: Record<(typeof CONTEXT_FACTS)[number], string> = {
  amount:
    'The request’s amount in minor units: `amount_cents`, else `amount` (a whole number or a string of digits); missing when it has none.',
  currency: 'The request’s `currency` (a 3-letter code, upper-cased), else the policy’s.',
  'business.id': 'The id of the business called (`""` for an evaluation).',
  'business.category': 'Its category, as registered (`""` for an evaluation).',
  'agent.id': 'The agent id of the key that sent the request.',
  'time.weekday': '`mon` … `sun`, on the policy’s clock.',
  'time.hour': '0–23, on the policy’s clock.',
  'time.minute': '0–59, on the policy’s clock.',
  'history.first_time_business':
    '`true` when the workspace has no succeeded execute with this business yet (always `true` for an evaluation).',
};

const SPEND_CONTEXT =
  'The spend counted in that limit’s current window (succeeded plus reserved), before this request; missing when the limit does not apply to this request (another category or currency, or `per_transaction`). The limit must exist in the document or one of its overrides.';

/** The heading slug Git hosts give a heading made of words and spaces. */
export const slug = (title: string): string =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');

const code = (text: string): string => `\`${text}\``;

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  // As written (`io: input`): defaults shown, defaulted fields not required. Conditions are checked
  // by hand (a custom type), which JSON Schema renders as `{}`.
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/** The schema without the keys a field adds around a shared object (so it compares equal). */
function bare(schema: JsonSchema): string {
  const { description: _d, default: _f, $schema: _s, ...rest } = schema as JsonSchema & { $schema?: string };
  return JSON.stringify(rest);
}

let sectionSchemas: { section: Section; key: string }[] | undefined;

function sectionFor(schema: JsonSchema): Section | undefined {
  sectionSchemas ??= SECTIONS.map((s) => ({ section: s, key: bare(jsonSchemaOf(s.schema)) }));
  const key = bare(schema);
  return sectionSchemas.find((s) => s.key === key)?.section;
}

const SAFE = Number.MAX_SAFE_INTEGER;

function range(min: number | undefined, max: number | undefined, unit = ''): string {
  const lo = min !== undefined && min > -SAFE ? min : undefined;
  const hi = max !== undefined && max < SAFE ? max : undefined;
  const n = (v: number) => v.toLocaleString('en-US');
  if (lo !== undefined && hi !== undefined) return ` ${n(lo)}–${n(hi)}${unit}`;
  if (lo !== undefined) return ` ≥ ${n(lo)}${unit}`;
  if (hi !== undefined) return ` ≤ ${n(hi)}${unit}`;
  return '';
}

/** A field's type as a reader needs it: enums spelled out, bounds, links to the object it holds. */
function typeOf(schema: JsonSchema, field: string): string {
  const section = sectionFor(schema);
  if (section) return `[${section.title.toLowerCase()}](#${slug(section.title)})`;
  if (schema.anyOf) return schema.anyOf.map((s) => typeOf(s, field)).join(' or ');
  if (schema.enum) return schema.enum.map((v) => code(JSON.stringify(v))).join(', ');
  switch (schema.type) {
    case 'null':
      return code('null');
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'number':
      return `${schema.type}${range(schema.minimum, schema.maximum)}`;
    case 'string': {
      const length = range(schema.minLength, schema.maxLength, ' characters');
      return `string${length}${schema.pattern ? ` matching ${code(schema.pattern)}` : ''}`;
    }
    case 'array': {
      const count = range(schema.minItems, schema.maxItems, ' items');
      const items = schema.items ? typeOf(schema.items, field) : 'anything';
      return `array${count ? ` (${count.trim()})` : ''} of ${items}`;
    }
    case 'object': {
      const values = schema.additionalProperties;
      if (values && typeof values === 'object' && !schema.properties) {
        return `object: id → ${typeOf(values, field)}`;
      }
      return 'object';
    }
  }
  // A custom type: the conditions, checked by hand in the schema.
  if (field === 'conditions') return 'array (≤ 100 items) of [condition](#condition)';
  throw new Error(`No way to describe the type of field "${field}": ${JSON.stringify(schema)}`);
}

export interface FieldRow {
  /** The key, as written in a document. */
  name: string;
  type: string;
  /** Its default as JSON, `required`, or `—` (the control is absent). */
  fallback: string;
  description: string;
}

export interface ReferenceSection {
  title: string;
  slug: string;
  /** Where the object sits in a document, as a sentence's start. */
  where: string;
  fields: FieldRow[];
}

/** Every object of the document with its fields, in the order a reader meets them. */
export function policyFieldReference(): ReferenceSection[] {
  return SECTIONS.map((section) => {
    const schema = jsonSchemaOf(section.schema);
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties ?? {}).map(([name, field]) => {
      if (!field.description) {
        throw new Error(
          `${section.title}.${name} has no description: add .describe() in policy/document/schema.ts`,
        );
      }
      const fallback =
        field.default !== undefined
          ? code(JSON.stringify(field.default))
          : required.has(name)
            ? 'required'
            : '—';
      return { name: code(name), type: typeOf(field, name), fallback, description: field.description };
    });
    return {
      title: section.title,
      slug: slug(section.title),
      where: `${section.path[0]?.toUpperCase()}${section.path.slice(1)}.`,
      fields,
    };
  });
}

/** Each operator of a condition: the value it takes and when it holds. */
export function operatorReference(): { op: string; value: string; meaning: string }[] {
  return OPERATORS.map((op) => ({ op: code(op), ...OPERATOR_DOCS[op] }));
}

/** Each gateway fact a condition can read with `context`, `spend.<limit id>` last. */
export function contextReference(): { context: string; meaning: string }[] {
  return [
    ...CONTEXT_FACTS.map((fact) => ({ context: code(fact), meaning: CONTEXT_DOCS[fact] })),
    { context: code('spend.<limit id>'), meaning: SPEND_CONTEXT },
  ];
}
