import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import { ALL_SCOPES, createAgentKey, listAgentKeys, revokeAgentKey } from '../services/keys.ts';
import { createMember } from '../services/workspaces.ts';
import { asMember } from './context.ts';
import { parseBody } from './validate.ts';

export const createKeyBody = z
  .object({
    agentId: z.string().min(1).max(128),
    scopes: z
      .array(z.enum(ALL_SCOPES as ['discover', 'query', 'execute']))
      .min(1)
      .optional(),
    policy: z.string().min(1).max(128).optional(),
  })
  .strict();

export const createMemberBody = z
  .object({ email: z.email(), role: z.enum(['admin', 'developer', 'approver']) })
  .strict();

/** Member API for keys and members (DESIGN §5); the workspace always comes from the token. */
export function registerWorkspaceRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const anyMember = memberAuth({ deps });
  const keyManagers = memberAuth({ deps, roles: ['admin', 'developer'] });
  const admins = memberAuth({ deps, roles: ['admin'] });

  app.post('/v1/keys', keyManagers, async (c) => {
    const input = await parseBody(c, createKeyBody);
    return c.json(await createAgentKey({ ctx: asMember(deps, c), input }), 201);
  });

  app.get('/v1/keys', anyMember, async (c) =>
    c.json({ keys: await listAgentKeys({ ctx: asMember(deps, c) }) }),
  );

  app.delete('/v1/keys/:id', keyManagers, async (c) => {
    await revokeAgentKey({ ctx: asMember(deps, c), id: c.req.param('id') });
    return c.body(null, 204);
  });

  app.post('/v1/members', admins, async (c) => {
    const input = await parseBody(c, createMemberBody);
    return c.json(await createMember({ ctx: asMember(deps, c), input }), 201);
  });
}
