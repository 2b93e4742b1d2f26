import type { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { route } from './route.ts';

export { checkResponses } from './check.ts';
export { declaredRoutes, type RouteSpec, route, routeKey } from './route.ts';

const DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'Warden',
    version: '1',
    description:
      'The gateway between AI agents and the businesses they act on: the agent API (AGP), the workspace API, the operator API and the approval links. Errors are `{error, code, requestId, details?}`; each route lists the codes it can answer with.',
  },
} as const;

/** GET /openapi.json (OpenAPI 3.1, generated from the routes) and GET /docs (an API reference page). */
export function registerDocumentRoutes(app: OpenAPIHono<GatewayEnv>): void {
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
  registry.registerComponent('securitySchemes', 'businessKey', bearer('A business key (`wb_…`), issue 12.'));
  registry.registerComponent('securitySchemes', 'metricsToken', bearer('METRICS_TOKEN, when set.'));

  route(
    app,
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'Operations',
      summary: 'This document',
      access: { principal: 'public' },
      responses: { 200: { description: 'OpenAPI 3.1', schema: z.object({ openapi: z.literal('3.1.0') }) } },
    },
    (c) => c.json(app.getOpenAPI31Document(DOCUMENT)),
  );
  route(
    app,
    {
      method: 'get',
      path: '/docs',
      tag: 'Operations',
      summary: 'API reference page',
      access: { principal: 'public' },
      responses: { 200: { description: 'The API reference (HTML)', html: true } },
    },
    Scalar({ url: '/openapi.json', pageTitle: 'Warden API' }),
  );
}
