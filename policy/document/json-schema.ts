import { z } from 'zod';
import { CONTEXT_FACTS, OPERATORS, policySchema } from './schema.ts';

/**
 * The policy document as JSON Schema (2020-12, as OpenAPI 3.1 uses it), generated from the zod
 * schema the gateway validates with, as a document is written (before defaults are applied). The
 * conditions are checked by hand in schema.ts (so an error lands on its exact key) and have no zod
 * shape to convert: they are written out here, recursive through `ref('PolicyCondition')`.
 *
 * The JSON Schema is looser than the validator in what it cannot say (unique ids, an operator's
 * value type, a time zone's existence): a document it accepts can still get issues from PUT.
 */

type Json = Record<string, unknown>;

const MAX_CONDITIONS = 100;
const scalar = { type: ['string', 'number', 'boolean'] };

function conditionSchema(ref: string): Json {
  const list = { type: 'array', minItems: 1, maxItems: MAX_CONDITIONS, items: { $ref: ref } };
  const test = (subject: Json, required: string): Json => ({
    type: 'object',
    properties: {
      ...subject,
      op: { type: 'string', enum: [...OPERATORS] },
      value: {
        description:
          'A string, number or boolean; an array of them for `in` and `not_in`; a number for `gt`, `gte`, `lt` and `lte`; a regular expression for `matches`; for `exists` nothing, or `false` to match a missing value.',
        anyOf: [scalar, { type: 'array', items: scalar }],
      },
    },
    required: [required, 'op'],
    additionalProperties: false,
  });
  return {
    description:
      'A test of the request (`field`) or of a gateway fact (`context`), or `all`, `any` and `not` of other conditions (nested at most 8 levels).',
    oneOf: [
      test(
        { field: { type: 'string', description: 'A dot path into the request (`items.0.sku`).' } },
        'field',
      ),
      test(
        {
          context: {
            type: 'string',
            description: `A gateway fact: ${CONTEXT_FACTS.join(', ')}, or spend.<limit id>.`,
            anyOf: [{ enum: [...CONTEXT_FACTS] }, { pattern: '^spend\\..+' }],
          },
        },
        'context',
      ),
      { type: 'object', properties: { all: list }, required: ['all'], additionalProperties: false },
      { type: 'object', properties: { any: list }, required: ['any'], additionalProperties: false },
      { type: 'object', properties: { not: { $ref: ref } }, required: ['not'], additionalProperties: false },
    ],
  };
}

/** `PolicyDocument` and `PolicyCondition`, referring to each other through `ref(name)`. */
export function policyJsonSchemas(ref: (name: string) => string): {
  PolicyDocument: Json;
  PolicyCondition: Json;
} {
  const { $schema: _, ...document } = z.toJSONSchema(policySchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: (ctx) => {
      // The one custom schema of the document: a rule's conditions.
      if (ctx.zodSchema._zod.def.type === 'custom') {
        Object.assign(ctx.jsonSchema, {
          type: 'array',
          maxItems: MAX_CONDITIONS,
          items: { $ref: ref('PolicyCondition') },
        });
      }
    },
  }) as Json;
  return {
    PolicyDocument: { ...document, description: 'A policy document: docs/policies.md explains each field.' },
    PolicyCondition: conditionSchema(ref('PolicyCondition')),
  };
}
