import type { Context } from 'hono';
import { z } from 'zod';
import { GatewayError } from '../../domain/errors.ts';
import { isoTime, jsonObject, named } from '../openapi/common.ts';
import { pathParam, readJson } from '../validate.ts';

/** The shapes of the policies API (DESIGN §5, §6) and the parsing its routes share. */

export const tag = 'Policies';

export const policyName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, - and _, at most 64');

export const simulateBody = z
  .object({
    businessId: z.string().min(1).max(128),
    request: z.record(z.string(), z.unknown()),
    agentId: z.string().min(1).max(128).optional(),
    at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const stored = named(
  'PolicyVersionRef',
  z.object({ name: z.string(), version: z.number().int(), versionId: z.string() }),
);
export const pointer = stored.extend({ updatedAt: isoTime });
/**
 * The policy document: named here, and its schema in the document is the one generated from the
 * validator's zod schema (openapi/policy-schema.ts), not this placeholder; the API still reads the
 * body as JSON and validates it itself, so issues come back with paths into the document.
 */
export const policyDocument = named(
  'PolicyDocument',
  jsonObject.describe('A policy document (docs/policies.md); validated with paths on PUT.'),
);
export const version = named(
  'PolicyVersion',
  stored.extend({
    createdAt: isoTime,
    createdBy: z.string(),
    commit: z
      .object({ id: z.string(), author: z.string().nullable() })
      .nullable()
      .describe('The Git commit this version was synced from (policy as code); null when put by hand.'),
    document: policyDocument,
  }),
);
export const documentCheck = named(
  'PolicyValidation',
  z.object({
    valid: z.boolean(),
    issues: z.array(
      z.object({
        path: z.string().describe('Dotted path (`rules.0.conditions.1.op`); "" for the document'),
        message: z.string(),
      }),
    ),
  }),
);

/** The `:name` of the path, or VALIDATION_ERROR saying what a name may hold. */
export function nameParam(c: Context): string {
  const parsed = policyName.safeParse(pathParam(c, 'name'));
  if (!parsed.success)
    throw new GatewayError('VALIDATION_ERROR', `Invalid policy name: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * The body as JSON, unchecked: the service validates a policy document itself, so its issues come back
 * with paths into the document rather than as a refused request body.
 */
export async function documentBody(c: Context): Promise<unknown> {
  const body = await readJson(c);
  if (!body.ok) throw new GatewayError('VALIDATION_ERROR', 'The policy document must be JSON.');
  return body.value;
}
