import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import type { Deps } from '../services/context.ts';
import { deleteSsoSettings, getSsoSettings, putSsoSettings } from '../services/sso/index.ts';
import { asMember } from './context.ts';
import { route } from './openapi/route.ts';
import { parseBody } from './validate.ts';

const role = z.enum(['admin', 'developer', 'approver']);

export const ssoBody = z
  .object({
    issuer: z
      .string()
      .min(1)
      .max(2048)
      .describe(
        'The issuer identifier of the OpenID provider; its discovery document is read at once (https only unless SSO_ALLOW_HTTP).',
      ),
    clientId: z.string().min(1).max(512).describe('The client id Warden has at the provider.'),
    clientSecret: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe(
        'The client secret: required the first time, kept when left out; sealed at rest, never shown again.',
      ),
    domains: z
      .array(z.string().min(1).max(253))
      .min(1)
      .max(100)
      .describe(
        'Email domains whose people sign in through this provider; a domain routes to one workspace.',
      ),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is printable ASCII without spaces'))
      .min(1)
      .max(20)
      .default(['openid', 'email', 'profile'])
      .describe('The scopes asked for; openid among them.'),
    roleClaim: z
      .string()
      .min(1)
      .max(256)
      .default('groups')
      .describe('The claim (ID token or UserInfo) naming the groups the person is in.'),
    roleMappings: z
      .array(z.object({ group: z.string().min(1).max(256), role }).strict())
      .max(100)
      .default([])
      .describe('Group → role; the first mapping whose group the person is in gives their role.'),
    defaultRole: role
      .nullable()
      .default(null)
      .describe('The role of a person in no mapped group; null: such a person is refused.'),
    jit: z
      .boolean()
      .default(false)
      .describe(
        'Just-in-time membership: a person the provider vouches for becomes a member at first sign-in.',
      ),
    required: z
      .boolean()
      .default(false)
      .describe('The console takes single sign-on only; member tokens keep working for the API.'),
  })
  .strict();

const ssoView = z.object({
  issuer: z.string(),
  clientId: z.string(),
  clientSecretSet: z.literal(true),
  domains: z.array(z.string()),
  scopes: z.array(z.string()),
  roleClaim: z.string(),
  roleMappings: z.array(z.object({ group: z.string(), role })),
  defaultRole: role.nullable(),
  jit: z.boolean(),
  required: z.boolean(),
  redirectUri: z.string().describe('The redirect URI to register at the provider.'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const tag = 'Single sign-on';

/** Issue 22: a workspace's console single sign-on with OpenID Connect (admins). */
export function registerSsoRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const admins = memberAuth({ deps, roles: ['admin'] });

  route(
    app,
    {
      method: 'get',
      path: '/v1/sso',
      operationId: 'getSso',
      tag,
      summary: "The workspace's single sign-on settings (null when not set up); never the client secret",
      access: { principal: 'member', roles: ['admin'] },
      responses: {
        200: { description: 'The settings', schema: z.object({ sso: ssoView.nullable() }) },
      },
    },
    admins,
    async (c) => c.json({ sso: await getSsoSettings({ ctx: asMember(deps, c) }) }),
  );

  route(
    app,
    {
      method: 'put',
      path: '/v1/sso',
      operationId: 'putSso',
      tag,
      summary: 'Set up or change single sign-on with an OpenID provider (audited)',
      description:
        'The issuer is checked by reading its discovery document. With `required`, the console takes ' +
        'single sign-on only: sign-in by member token or emailed link is refused and other console ' +
        'sessions end; member tokens keep working for the API (which is how to undo it if the provider is down).',
      access: { principal: 'member', roles: ['admin'] },
      body: ssoBody,
      responses: { 200: { description: 'The settings now in force', schema: z.object({ sso: ssoView }) } },
      errors: ['CONFLICT'],
    },
    admins,
    async (c) => {
      const body = await parseBody(c, ssoBody);
      return c.json({ sso: await putSsoSettings({ ctx: asMember(deps, c), input: body }) });
    },
  );

  route(
    app,
    {
      method: 'delete',
      path: '/v1/sso',
      operationId: 'deleteSso',
      tag,
      summary: 'Turn single sign-on off: its domains are free again (audited)',
      access: { principal: 'member', roles: ['admin'] },
      responses: { 204: { description: 'Removed' } },
      errors: ['NOT_FOUND'],
    },
    admins,
    async (c) => {
      await deleteSsoSettings({ ctx: asMember(deps, c) });
      return c.body(null, 204);
    },
  );
}
