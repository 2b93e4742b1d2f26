import type { Context } from 'hono';
import type { z } from 'zod';
import { jsonProblem, MAX_JSON_DEPTH } from '../../policy/canonical.ts';
import { GatewayError } from '../domain/errors.ts';

export interface Issue {
  path: string;
  message: string;
}

export const toIssues = (error: z.ZodError): Issue[] =>
  error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));

/**
 * Reads the body as JSON; `ok: false` when it is absent or not JSON. JSON that RFC 8785 cannot
 * canonicalise (too deep, a number out of double range, a lone surrogate) is refused here, on every
 * route, with the path (DESIGN §4 "Canonical hashing"), before anything hashes or walks it.
 */
export async function readJson(c: Context): Promise<{ ok: true; value: unknown } | { ok: false }> {
  const text = await c.req.text();
  if (text.trim() === '') return { ok: false };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  const problem = jsonProblem(value);
  if (problem) {
    const message = problem.message.startsWith('Nesting')
      ? `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`
      : 'The request body cannot be canonicalised (RFC 8785).';
    throw new GatewayError('VALIDATION_ERROR', message, [problem]);
  }
  return { ok: true, value };
}

/**
 * Parses the JSON body with `schema`, or throws 400 VALIDATION_ERROR with each issue's path. A route
 * declared `bodyOptional` passes `{optional: true}`: an empty body is then parsed as `undefined`.
 */
export async function parseBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  options: { optional?: boolean } = {},
): Promise<z.infer<S>> {
  const body = await readJson(c);
  if (!body.ok && !(options.optional && (await c.req.text()).trim() === '')) {
    throw new GatewayError('VALIDATION_ERROR', 'The request body must be JSON.');
  }
  const parsed = schema.safeParse(body.ok ? body.value : undefined);
  if (!parsed.success) {
    throw new GatewayError('VALIDATION_ERROR', 'The request body is not valid.', toIssues(parsed.error));
  }
  return parsed.data;
}

export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) {
    throw new GatewayError('VALIDATION_ERROR', 'The query string is not valid.', toIssues(parsed.error));
  }
  return parsed.data;
}

/** A parameter of the route's path (the router only matches when it is there). */
export function pathParam(c: Context, name: string): string {
  const value = c.req.param(name);
  if (value === undefined) throw new Error(`The route has no :${name} parameter.`);
  return value;
}

/** A validation refusal's message with the fields it names (`… (query.agent, body.url)`), for a page. */
export function withFields(refusal: GatewayError): string {
  const details = Array.isArray(refusal.details) ? (refusal.details as { path?: unknown }[]) : [];
  const paths = details.map((d) => d.path).filter((p): p is string => typeof p === 'string');
  return paths.length > 0 ? `${refusal.message} (${paths.join(', ')})` : refusal.message;
}
