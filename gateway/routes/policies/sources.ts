import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { memberAuth } from '../../middleware/auth/index.ts';
import { type Deps, systemContext } from '../../services/context.ts';
import {
  getPolicySourceView,
  linkPolicySource,
  policyImpact,
  receivePush,
  syncPolicySource,
  unlinkPolicySource,
} from '../../services/policy/index.ts';
import { asMember } from '../context.ts';
import { isoTime } from '../openapi/common.ts';
import { route } from '../openapi/route.ts';
import { parseBody, pathParam } from '../validate.ts';
import { documentBody, nameParam, policyDocument, tag } from './schema.ts';

export const linkBody = z
  .object({
    provider: z.enum(['github', 'gitlab']),
    repository: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$|^\d+$/, 'owner/repo (GitLab: group/project or its id)')
      .max(255),
    path: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[^/].*\.json$/, 'a path in the repository to a .json file, without a leading /'),
    branch: z.string().min(1).max(255).default('main'),
    token: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe('Read access (and, on GitHub, commit statuses); sealed at rest.'),
  })
  .strict();

const sourceView = z.object({
  id: z.string(),
  name: z.string(),
  provider: z.enum(['github', 'gitlab']),
  repository: z.string(),
  path: z.string(),
  branch: z.string(),
  hasToken: z.boolean(),
  webhookUrl: z.string().describe('Where the provider sends push events.'),
  lastCommit: z.string().nullable(),
  lastStatus: z.enum(['synced', 'invalid', 'error']).nullable(),
  lastError: z.string().nullable(),
  lastSyncedAt: isoTime.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
const issue = z.object({ path: z.string(), message: z.string() });
const syncResult = z.object({
  status: z.enum(['synced', 'invalid']),
  commit: z.string(),
  version: z.number().int().optional(),
  versionId: z.string().optional(),
  created: z.boolean().optional(),
  error: z.string().optional(),
  issues: z.array(issue).optional(),
});
const impactView = z.object({
  name: z.string(),
  valid: z.boolean(),
  issues: z.array(issue),
  currentVersion: z.number().int().nullable(),
  examined: z.number().int().describe('How many of the policy’s last 1,000 executes were decided again.'),
  changed: z.number().int().describe('How many of them the candidate decides differently.'),
  byRule: z.array(z.object({ rule: z.string(), count: z.number().int() })),
  examples: z.array(
    z.object({ transactionId: z.string(), from: z.string(), to: z.string(), rule: z.string() }),
  ),
});

/** Issue 23, policy as code: the Git link of a policy, its syncs, the push webhook, dry runs. */
export function registerPolicySourceRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const admins = memberAuth({ deps, roles: ['admin'] });

  route(
    app,
    {
      method: 'put',
      path: '/v1/policies/:name/source',
      operationId: 'linkPolicySource',
      tag,
      summary: 'Link the policy to a JSON file in a GitHub or GitLab repository',
      description:
        'The answer carries the webhook URL and its secret (shown once): give both to a push webhook of the repository.',
      access: { principal: 'member', roles: ['admin'] },
      body: linkBody,
      responses: {
        200: { description: 'The link', schema: sourceView.extend({ webhookSecret: z.string() }) },
      },
    },
    admins,
    async (c) => {
      const body = await parseBody(c, linkBody);
      return c.json(
        await linkPolicySource({ ctx: asMember(deps, c), input: { ...body, name: nameParam(c) } }),
      );
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/policies/:name/source',
      operationId: 'getPolicySource',
      tag,
      summary: "The policy's Git link and how its newest sync went",
      access: { principal: 'member' },
      responses: { 200: { description: 'The link', schema: sourceView } },
      errors: ['NOT_FOUND'],
    },
    memberAuth({ deps }),
    async (c) => c.json(await getPolicySourceView({ ctx: asMember(deps, c), input: { name: nameParam(c) } })),
  );

  route(
    app,
    {
      method: 'delete',
      path: '/v1/policies/:name/source',
      operationId: 'unlinkPolicySource',
      tag,
      summary: 'Unlink the policy from its repository (its versions stay)',
      access: { principal: 'member', roles: ['admin'] },
      responses: { 204: { description: 'Unlinked' } },
      errors: ['NOT_FOUND'],
    },
    admins,
    async (c) => {
      await unlinkPolicySource({ ctx: asMember(deps, c), input: { name: nameParam(c) } });
      return c.body(null, 204);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/policies/:name/sync',
      operationId: 'syncPolicySource',
      tag,
      summary: 'Read the linked file at the head of its branch now and store it if it changed',
      access: { principal: 'member', roles: ['admin'] },
      responses: { 200: { description: 'Synced, or why the file was not stored', schema: syncResult } },
      errors: ['NOT_FOUND', 'PROVIDER_ERROR'],
    },
    admins,
    async (c) => c.json(await syncPolicySource({ ctx: asMember(deps, c), input: { name: nameParam(c) } })),
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/policies/:name/impact',
      operationId: 'simulatePolicyImpact',
      tag,
      summary: 'What storing a document would change: the last 1,000 executes decided again',
      access: { principal: 'member' },
      body: policyDocument,
      responses: { 200: { description: 'The simulated effect (nothing is stored)', schema: impactView } },
    },
    memberAuth({ deps }),
    async (c) => {
      const document = await documentBody(c);
      return c.json(await policyImpact({ ctx: asMember(deps, c), input: { name: nameParam(c), document } }));
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/git/push/:sourceId',
      operationId: 'gitPush',
      tag,
      summary: 'A push webhook from GitHub or GitLab (signed with the link’s secret)',
      description:
        'GitHub: `X-Hub-Signature-256` over the raw body; GitLab: `X-Gitlab-Token`. A push to the linked branch that changes the file queues a sync at the pushed commit.',
      access: { principal: 'public' },
      responses: {
        200: {
          description: 'Not for this link (another branch, another file, another event)',
          schema: z.object({ outcome: z.literal('ignored'), reason: z.string().optional() }),
        },
        202: {
          description: 'A sync at the pushed commit is queued',
          schema: z.object({ outcome: z.literal('queued'), commit: z.string() }),
        },
      },
      errors: ['UNAUTHORIZED', 'VALIDATION_ERROR'],
    },
    async (c) => {
      const result = await receivePush({
        ctx: { ...systemContext(deps), requestId: c.var.requestId },
        input: {
          sourceId: pathParam(c, 'sourceId'),
          rawBody: await c.req.text(),
          headers: {
            'x-hub-signature-256': c.req.header('x-hub-signature-256'),
            'x-github-event': c.req.header('x-github-event'),
            'x-gitlab-token': c.req.header('x-gitlab-token'),
            'x-gitlab-event': c.req.header('x-gitlab-event'),
          },
        },
      });
      return result.outcome === 'queued'
        ? c.json({ outcome: 'queued' as const, commit: result.commit ?? '' }, 202)
        : c.json({ outcome: 'ignored' as const, reason: result.reason }, 200);
    },
  );
}
