import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { GatewayError } from '../../domain/errors.ts';
import type { GatewayEnv } from '../../env.ts';
import { memberAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import {
  checkPolicyDocument,
  getPolicy,
  listPolicies,
  listPolicyVersions,
  putPolicy,
  simulatePolicy,
} from '../../services/policy/index.ts';
import { asMember } from '../context.ts';
import { decision, isoTime, jsonObject } from '../openapi/common.ts';
import { route } from '../openapi/route.ts';
import { parseBody, pathParam, readJson } from '../validate.ts';

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

const stored = z.object({ name: z.string(), version: z.number().int(), versionId: z.string() });
const pointer = stored.extend({ updatedAt: isoTime });
const version = stored.extend({
  createdAt: isoTime,
  createdBy: z.string(),
  document: jsonObject.describe('The policy document (docs/policies.md).'),
});
const policyDocument = jsonObject.describe(
  'A policy document (docs/policies.md); validated with paths on PUT.',
);

const tag = 'Policies';

/** Policies API (DESIGN §5, §6): admins write, every member reads and simulates. */
export function registerPolicyRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const readers = memberAuth({ deps });
  const admins = memberAuth({ deps, roles: ['admin'] });
  const name = (raw: string) => {
    const parsed = policyName.safeParse(raw);
    if (!parsed.success)
      throw new GatewayError('VALIDATION_ERROR', `Invalid policy name: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  };

  route(
    app,
    {
      method: 'put',
      path: '/v1/policies/:name',
      tag,
      summary: 'Store a new immutable version (identical content keeps the current one)',
      access: { principal: 'member', roles: ['admin'] },
      body: policyDocument,
      responses: {
        200: { description: 'Unchanged: the current version', schema: stored },
        201: { description: 'A new version', schema: stored },
      },
    },
    admins,
    async (c) => {
      const body = await readJson(c);
      if (!body.ok) throw new GatewayError('VALIDATION_ERROR', 'The policy document must be JSON.');
      const result = await putPolicy({
        ctx: asMember(deps, c),
        input: { name: name(pathParam(c, 'name')), document: body.value },
      });
      const { created, ...view } = result;
      return c.json(view, created ? 201 : 200);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/policies/validate',
      tag,
      summary: 'Check a policy document as PUT would, storing nothing: every issue at its path',
      access: { principal: 'member' },
      body: policyDocument,
      responses: {
        200: {
          description: 'Whether the document is valid, and its issues (empty when valid)',
          schema: z.object({
            valid: z.boolean(),
            issues: z.array(
              z.object({
                path: z.string().describe('Dotted path (`rules.0.conditions.1.op`); "" for the document'),
                message: z.string(),
              }),
            ),
          }),
        },
      },
    },
    readers,
    async (c) => {
      const body = await readJson(c);
      if (!body.ok) throw new GatewayError('VALIDATION_ERROR', 'The policy document must be JSON.');
      return c.json(checkPolicyDocument({ ctx: asMember(deps, c), input: { document: body.value } }));
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/policies',
      tag,
      summary: "The workspace's policies and their current versions",
      access: { principal: 'member' },
      responses: { 200: { description: 'Policies', schema: z.object({ policies: z.array(pointer) }) } },
    },
    readers,
    async (c) => c.json({ policies: await listPolicies({ ctx: asMember(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/policies/:name',
      tag,
      summary: 'The current version of a policy',
      access: { principal: 'member' },
      responses: { 200: { description: 'The current version', schema: version } },
      errors: ['VALIDATION_ERROR', 'NOT_FOUND'],
    },
    readers,
    async (c) =>
      c.json(await getPolicy({ ctx: asMember(deps, c), input: { name: name(pathParam(c, 'name')) } })),
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/policies/:name/versions',
      tag,
      summary: 'Every version of a policy, newest first',
      access: { principal: 'member' },
      responses: { 200: { description: 'Versions', schema: z.object({ versions: z.array(version) }) } },
      errors: ['VALIDATION_ERROR', 'NOT_FOUND'],
    },
    readers,
    async (c) =>
      c.json({
        versions: await listPolicyVersions({
          ctx: asMember(deps, c),
          input: { name: name(pathParam(c, 'name')) },
        }),
      }),
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/policies/:name/simulate',
      tag,
      summary: 'What the current version would decide for a request (nothing is recorded)',
      access: { principal: 'member' },
      body: simulateBody,
      responses: { 200: { description: 'The decision', schema: z.object({ decision }) } },
      errors: ['NOT_FOUND', 'BUSINESS_NOT_FOUND'],
    },
    readers,
    async (c) => {
      const body = await parseBody(c, simulateBody);
      const result = await simulatePolicy({
        ctx: asMember(deps, c),
        input: { ...body, name: name(pathParam(c, 'name')), at: body.at ? Date.parse(body.at) : undefined },
      });
      return c.json({ decision: result });
    },
  );
}
