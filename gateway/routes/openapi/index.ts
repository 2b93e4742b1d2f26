import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { policyJsonSchemas } from '../../../policy/document/json-schema.ts';
import { GatewayError } from '../../domain/index.ts';
import type { GatewayEnv } from '../../env.ts';
import { DOCS_CSP, docsPage, scalarBundle } from './docs-page.tsx';
import { route } from './route.ts';

export { checkResponses } from './check.ts';
export { declaredRoutes, type RouteSpec, route, routeKey } from './route.ts';

/**
 * The groups of the reference, in the order a reader meets them: the agent's surface first, the
 * workspace's next, the operator's and the process's last. Every route's `tag` is one of these.
 */
const TAGS: readonly { name: string; description: string }[] = [
  {
    name: 'Agent API (AGP)',
    description: 'What an agent calls: discover, query, execute (with prepare), status, receipts.',
  },
  {
    name: 'Evaluate-only',
    description: 'Ask for a decision, act yourself, then report the outcome for a receipt.',
  },
  { name: 'MCP', description: 'The agent API as Model Context Protocol tools (Streamable HTTP).' },
  {
    name: 'OAuth',
    description:
      'Authorization for MCP clients: metadata, client registration, authorize and token endpoints.',
  },
  {
    name: 'Transactions',
    description: "The workspace's ledger: every request an agent made and how it ended.",
  },
  { name: 'Approvals', description: 'Requests a policy parked for people to decide.' },
  {
    name: 'Policies',
    description: 'The policy documents that decide, their versions, validation and simulation.',
  },
  { name: 'Agent keys', description: "The workspace's agent keys (`wk_…`)." },
  { name: 'Members', description: 'People in the workspace, their roles and tokens, and invitations.' },
  { name: 'Single sign-on', description: "The workspace's OpenID Connect sign-in for the console." },
  { name: 'Webhooks', description: 'Events delivered to your URLs, signed.' },
  {
    name: 'Channels',
    description: 'Approvals in Slack (buttons, signed callbacks) and Microsoft Teams (cards with a link).',
  },
  { name: 'Analytics', description: 'Rates, spend, limits and the price of evaluations.' },
  { name: 'Audit', description: 'The hash-chained audit log and its verification.' },
  { name: 'Receipts', description: 'The keys that verify receipts.' },
  {
    name: 'Ledger log',
    description: 'The append-only ledger log: receipts with inclusion proofs, checkpoints, consistency.',
  },
  { name: 'Reports', description: 'Compliance exports.' },
  {
    name: 'Business',
    description: 'For a business: its own profile, adapter, signing secret and calls (a business key).',
  },
  {
    name: 'Operator',
    description: 'Workspaces and businesses, for whoever runs the gateway (WARDEN_ADMIN_TOKEN).',
  },
  { name: 'Approval links', description: 'The emailed one-time approval pages (HTML).' },
  { name: 'Console', description: 'The web console (HTML pages and form posts, a session cookie).' },
  { name: 'Operations', description: 'Health, readiness, metrics and this reference.' },
];

export const DOCUMENT_TAGS: readonly string[] = TAGS.map((t) => t.name);

const DESCRIPTION =
  'The gateway between AI agents and the businesses they act on: the agent API (AGP), the workspace API, the operator API and the approval links. Errors are `Error` objects, `{error, code, requestId, details?}`; each operation lists the codes it can answer with, one example each.';

export interface DocumentOptions {
  /** PUBLIC_BASE_URL: the document's one server, so a generated client points at this gateway. */
  publicBaseUrl: string;
}

/** The generated document with the schemas zod-to-openapi cannot derive: the policy document's. */
function buildDocument(app: OpenAPIHono<GatewayEnv>, options: DocumentOptions) {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'Warden', version: '1', description: DESCRIPTION },
    servers: [{ url: options.publicBaseUrl, description: 'This gateway (PUBLIC_BASE_URL)' }],
    tags: [...TAGS],
  });
  const schemas = document.components?.schemas ?? {};
  Object.assign(
    schemas,
    policyJsonSchemas((name) => `#/components/schemas/${name}`),
  );
  return { ...document, components: { ...document.components, schemas } };
}

/** GET /openapi.json (OpenAPI 3.1, generated from the routes) and GET /docs (an API reference page). */
export function registerDocumentRoutes(app: OpenAPIHono<GatewayEnv>, options: DocumentOptions): void {
  const registry = app.openAPIRegistry;
  const bearer = (description: string) => ({ type: 'http' as const, scheme: 'bearer', description });
  registry.registerComponent('securitySchemes', 'agentKey', bearer('An agent key (`wk_…`).'));
  registry.registerComponent('securitySchemes', 'agentKeyHeader', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'The agent key in `X-API-Key` instead of `Authorization`.',
  });
  registry.registerComponent('securitySchemes', 'memberToken', bearer('A member token; its role decides.'));
  registry.registerComponent('securitySchemes', 'operatorToken', bearer('WARDEN_ADMIN_TOKEN.'));
  registry.registerComponent(
    'securitySchemes',
    'businessKey',
    bearer('A business key (`wb_…`): the /v1/business routes of its business.'),
  );
  registry.registerComponent('securitySchemes', 'metricsToken', bearer('METRICS_TOKEN, when set.'));

  // Generated on the first request, when every route is registered; the routes never change after.
  let document: ReturnType<typeof buildDocument> | undefined;
  route(
    app,
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApiDocument',
      tag: 'Operations',
      summary: 'This document',
      access: { principal: 'public' },
      responses: { 200: { description: 'OpenAPI 3.1', schema: z.object({ openapi: z.literal('3.1.0') }) } },
    },
    (c) => {
      document ??= buildDocument(app, options);
      return c.json(document);
    },
  );
  route(
    app,
    {
      method: 'get',
      path: '/docs',
      operationId: 'getApiReference',
      tag: 'Operations',
      summary: 'API reference page (works offline: everything it loads is served here)',
      access: { principal: 'public' },
      responses: { 200: { description: 'The API reference (HTML)', html: true } },
    },
    (c) => {
      c.header('Content-Security-Policy', DOCS_CSP);
      c.header('X-Content-Type-Options', 'nosniff');
      c.header('Referrer-Policy', 'same-origin');
      return c.html(docsPage('/openapi.json'));
    },
  );
  route(
    app,
    {
      method: 'get',
      path: '/docs/assets/:file',
      operationId: 'getApiReferenceAsset',
      tag: 'Operations',
      summary: "The reference page's script, by its fingerprinted name (cached for a year)",
      access: { principal: 'public' },
      responses: {
        200: { description: 'The script', files: ['text/javascript'] },
      },
      errors: ['NOT_FOUND'],
    },
    (c) => {
      const bundle = scalarBundle();
      if (c.req.param('file') !== bundle.file) {
        throw new GatewayError(
          'NOT_FOUND',
          `No file ${c.req.param('file')} here; the page names its script.`,
        );
      }
      // The name changes with the content: the address can be cached for ever.
      c.header('Cache-Control', 'public, max-age=31536000, immutable');
      c.header('X-Content-Type-Options', 'nosniff');
      return c.body(bundle.body, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
    },
  );
}
