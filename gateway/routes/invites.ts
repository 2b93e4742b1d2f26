import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Mailer } from '../notify/mailer.ts';
import type { Deps } from '../services/context.ts';
import { acceptInvite, createInvite, showInvite } from '../services/invites.ts';
import { asMember } from './context.ts';
import { parseBody } from './validate.ts';

export const createInviteBody = z
  .object({ email: z.email(), role: z.enum(['admin', 'developer', 'approver']) })
  .strict();

/**
 * Invitations (issue 11): an admin invites by email; the link in the email is the only credential
 * of `/invite/:token` (no key, no cookie), good for one accept within 24 hours.
 */
export function registerInviteRoutes(app: Hono<GatewayEnv>, deps: Deps, mailer: Mailer): void {
  app.post('/v1/invites', memberAuth({ deps, roles: ['admin'] }), async (c) => {
    const input = await parseBody(c, createInviteBody);
    return c.json(await createInvite({ ctx: asMember(deps, c), input, mailer }), 201);
  });

  app.get('/invite/:token', async (c) => c.json(await showInvite({ deps, token: c.req.param('token') })));

  app.post('/invite/:token/accept', async (c) =>
    c.json(await acceptInvite({ deps, token: c.req.param('token') }), 201),
  );
}
