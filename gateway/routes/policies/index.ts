import type { Hono } from 'hono';
import { z } from 'zod';
import { GatewayError } from '../../domain/errors.ts';
import type { GatewayEnv } from '../../env.ts';
import { memberAuth } from '../../middleware/auth/index.ts';
import type { Deps } from '../../services/context.ts';
import { getPolicy, listPolicies, listPolicyVersions, putPolicy } from '../../services/policies.ts';
import { simulatePolicy } from '../../services/simulate.ts';
import { asMember } from '../context.ts';
import { parseBody, readJson } from '../validate.ts';

const policyName = z
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

/** Policies API (DESIGN §5, §6): admins write, every member reads and simulates. */
export function registerPolicyRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const readers = memberAuth({ deps });
  const admins = memberAuth({ deps, roles: ['admin'] });
  const name = (raw: string) => {
    const parsed = policyName.safeParse(raw);
    if (!parsed.success)
      throw new GatewayError('VALIDATION_ERROR', `Invalid policy name: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  };

  app.put('/v1/policies/:name', admins, async (c) => {
    const body = await readJson(c);
    if (!body.ok) throw new GatewayError('VALIDATION_ERROR', 'The policy document must be JSON.');
    const result = await putPolicy({
      ctx: asMember(deps, c),
      name: name(c.req.param('name')),
      document: body.value,
    });
    const { created, ...view } = result;
    return c.json(view, created ? 201 : 200);
  });

  app.get('/v1/policies', readers, async (c) =>
    c.json({ policies: await listPolicies({ ctx: asMember(deps, c) }) }),
  );

  app.get('/v1/policies/:name', readers, async (c) =>
    c.json(await getPolicy({ ctx: asMember(deps, c), name: name(c.req.param('name')) })),
  );

  app.get('/v1/policies/:name/versions', readers, async (c) =>
    c.json({
      versions: await listPolicyVersions({
        ctx: asMember(deps, c),
        name: name(c.req.param('name')),
      }),
    }),
  );

  app.post('/v1/policies/:name/simulate', readers, async (c) => {
    const body = await parseBody(c, simulateBody);
    const decision = await simulatePolicy({
      ctx: asMember(deps, c),
      name: name(c.req.param('name')),
      input: { ...body, at: body.at ? Date.parse(body.at) : undefined },
    });
    return c.json({ decision });
  });
}
