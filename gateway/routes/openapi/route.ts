import { createRoute, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Handler, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { errorResponses } from './errors.ts';
import type { Access, Answer, RouteSpec } from './spec.ts';

export type { Access, Answer, RouteSpec } from './spec.ts';

/** What the response check and the document test read back: every spec by method and pattern. */
const declared = new WeakMap<object, Map<string, RouteSpec>>();

export function declaredRoutes(app: object): Map<string, RouteSpec> {
  let specs = declared.get(app);
  if (!specs) {
    specs = new Map();
    declared.set(app, specs);
  }
  return specs;
}

/** The operationIds taken in each app: a second route with one is a programming error. */
const operationIds = new WeakMap<object, Set<string>>();

function claimOperationId(app: object, spec: RouteSpec): void {
  let taken = operationIds.get(app);
  if (!taken) {
    taken = new Set();
    operationIds.set(app, taken);
  }
  if (!/^[a-z][A-Za-z0-9]*$/.test(spec.operationId)) {
    throw new Error(`${routeKey(spec.method, spec.path)}: operationId ${spec.operationId} is not camelCase`);
  }
  if (taken.has(spec.operationId)) {
    throw new Error(`${routeKey(spec.method, spec.path)}: operationId ${spec.operationId} is taken`);
  }
  taken.add(spec.operationId);
}

export const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/**
 * The security requirement of a route. OpenAPI 3.1 lets a requirement of a non-OAuth scheme list
 * role names: an agent key's scope, a member's roles (none listed: any valid credential).
 */
function security(access: Access): Record<string, string[]>[] {
  switch (access.principal) {
    case 'agent': {
      const scopes = access.scope ? [access.scope] : [];
      return [{ agentKey: scopes }, { agentKeyHeader: scopes }];
    }
    case 'member':
      return [{ memberToken: [...(access.roles ?? [])] }];
    case 'operator':
      return [{ operatorToken: [] }];
    case 'business':
      return [{ businessKey: [] }];
    case 'metrics':
      // Open unless METRICS_TOKEN is set: the empty requirement makes it optional.
      return [{ metricsToken: [] }, {}];
    default:
      return [];
  }
}

function accessNote(access: Access): string | undefined {
  if (access.principal === 'agent' && access.scope) return `Agent key with the \`${access.scope}\` scope.`;
  if (access.principal === 'member') {
    return access.roles ? `Member token, role ${access.roles.join(' or ')}.` : 'Member token, any role.';
  }
  if (access.principal === 'console') {
    const who = access.roles ? `role ${access.roles.join(' or ')}` : 'any role';
    return `Console session cookie (\`warden_console\`), ${who}; forms carry the session's CSRF field.`;
  }
  return undefined;
}

const mediaType = (answer: Answer) =>
  answer.html ? 'text/html' : answer.stream ? 'text/event-stream' : 'text/plain';

/** The `content` of one documented answer, by its kind. */
function answerContent(answer: Answer): {
  content?: Record<string, { schema: z.ZodType; example?: unknown }>;
} {
  const text = { schema: z.string() };
  // An MCP answer: JSON for a plain reply, an event stream otherwise (the server chooses).
  if (answer.stream && answer.schema) {
    return { content: { 'application/json': { schema: answer.schema }, 'text/event-stream': text } };
  }
  if (answer.html || answer.text || answer.stream) return { content: { [mediaType(answer)]: text } };
  if (answer.files) {
    const binary = { schema: z.string().meta({ format: 'binary' }) };
    return { content: Object.fromEntries(answer.files.map((type) => [type, binary])) };
  }
  if (!answer.schema) return {};
  const example = answer.example === undefined ? {} : { example: answer.example };
  return { content: { [answer.mediaType ?? 'application/json']: { schema: answer.schema, ...example } } };
}

// biome-ignore lint/suspicious/noExplicitAny: each middleware declares its own variables, as with Hono's app.on
type AnyMiddleware = MiddlewareHandler<any>;

/**
 * Registers `spec` in the app's OpenAPI registry and mounts its middleware and handler at the same
 * path (the handler last, typed with the gateway's variables).
 */
export function route(
  app: OpenAPIHono<GatewayEnv>,
  spec: RouteSpec,
  ...handlers: [...AnyMiddleware[], Handler<GatewayEnv>]
): void {
  claimOperationId(app, spec);
  const params = [...spec.path.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
  const responses: RouteConfig['responses'] = {};
  for (const [status, answer] of Object.entries(spec.responses)) {
    responses[status] = {
      description: answer.description,
      ...(answer.headers ? { headers: answer.headers } : {}),
      ...answerContent(answer),
    };
  }
  Object.assign(responses, errorResponses(spec));
  const note = accessNote(spec.access);
  const config = createRoute({
    method: spec.method,
    path: spec.path.replace(/:(\w+)/g, '{$1}'),
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description || note
      ? { description: [spec.description, note].filter(Boolean).join('\n\n') }
      : {}),
    security: security(spec.access),
    request: {
      ...(params.length > 0
        ? { params: z.object(Object.fromEntries(params.map((name) => [name, z.string()]))) }
        : {}),
      ...(spec.query ? { query: spec.query } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
      ...(spec.body
        ? {
            body: {
              required: !spec.bodyOptional,
              content: { 'application/json': { schema: spec.body } },
            },
          }
        : {}),
    },
    responses,
  });
  app.openAPIRegistry.registerPath(config);
  declaredRoutes(app).set(routeKey(spec.method, spec.path), spec);
  // Parsing stays in the handlers (routes/validate.ts) with the same schemas: one error envelope,
  // the canonical-JSON checks, and the exact messages of DESIGN §3 whatever the route.
  app.on([spec.method.toUpperCase()], [spec.path], ...handlers);
}
