import type { z } from 'zod';
import type { ErrorCode, Role, Scope } from '../../domain/index.ts';

/**
 * What a route declares about itself, apart from the code that builds it (route.ts) and the error
 * responses derived from it (errors.ts), so both can read it without importing each other.
 */

/** Who may call a route; decides its security requirement and the refusals auth adds. */
export type Access =
  | { principal: 'public' }
  | { principal: 'agent'; scope?: Scope }
  | { principal: 'member'; roles?: readonly Role[] }
  | { principal: 'operator' }
  /** A business key (issue 12): the /v1/business routes, on its own business. */
  | { principal: 'business' }
  /** The secret is the path's one-time token (magic links, invites). */
  | { principal: 'link' }
  /** The web console (issue 14): a session cookie; without one a page redirects to sign in. */
  | { principal: 'console'; roles?: readonly Role[] }
  | { principal: 'metrics' };

export interface Answer {
  description: string;
  /** JSON body; left out for empty (204) answers. */
  schema?: z.ZodType;
  /** A JSON body's own media type (a `+json` one), instead of `application/json`. */
  mediaType?: string;
  /** An HTML page instead of JSON. */
  html?: true;
  /** Plain text instead of JSON (the Prometheus exposition format). */
  text?: true;
  /**
   * A server-sent event stream (`text/event-stream`, the MCP Streamable HTTP transport); with a
   * `schema` too, the server may answer either (JSON for a plain reply, a stream otherwise).
   */
  stream?: true;
  /** A file of one of these media types: a body read as is (a ZIP download, the console's CSS and JS). */
  files?: readonly string[];
  example?: unknown;
  /** Response headers, each described in its schema (`.describe()`). */
  headers?: z.ZodObject;
}

/** One route, described once: the document is generated from it and the handlers parse with it. */
export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Hono's pattern (`/v1/keys/:id`); the document gets `{id}`. */
  path: string;
  /**
   * The operation's name in /openapi.json, the method name a generated client gets: camelCase, a
   * verb and the resource (`listTransactions`, `approveApproval`), unique in the app (route()
   * refuses a second one).
   */
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  body?: z.ZodType;
  /** Whether the body may be left out (a JSON body is still validated when sent). */
  bodyOptional?: boolean;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  responses: Record<number, Answer>;
  /** The refusals this route's own service can answer with; auth, bodies and 500 are added. */
  errors?: readonly ErrorCode[];
}
