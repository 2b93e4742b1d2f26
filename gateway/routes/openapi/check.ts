import type { MiddlewareHandler } from 'hono';
import { ERROR_STATUS } from '../../domain/index.ts';
import { UNMATCHED } from '../../metrics/index.ts';
import { routeLabel } from '../../middleware/metrics/index.ts';
import { errorSchema, routeErrorCodes } from './errors.ts';
import { declaredRoutes, type RouteSpec, routeKey } from './route.ts';

/** What is wrong with `res` as an answer of `spec`, or undefined when it is one it documents. */
export async function responseProblem(spec: RouteSpec, res: Response): Promise<string | undefined> {
  const type = res.headers.get('content-type') ?? '';
  const answer = spec.responses[res.status];
  if (answer?.html) return type.startsWith('text/html') ? undefined : `${res.status} is documented as HTML`;
  // An event stream is checked by its type only: reading it here would wait for it to end.
  if (answer?.stream && !(answer.schema && type.includes('application/json'))) {
    return type.startsWith('text/event-stream')
      ? undefined
      : `${res.status} is documented as an event stream`;
  }
  // A file is checked by its type only: it may be large and streamed.
  if (answer?.files) {
    return answer.files.some((t) => type.startsWith(t)) ? undefined : `${res.status} answered ${type}`;
  }
  if (answer?.text) return type.startsWith('text/plain') ? undefined : `${res.status} is documented as text`;
  const text = await res.clone().text();
  if (answer && !answer.schema) return text === '' ? undefined : `${res.status} is documented without a body`;
  if (!type.includes(answer?.mediaType ?? 'application/json')) {
    return `${res.status} answered ${type || 'no content type'}`;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${res.status} answered a body that is not JSON`;
  }
  if (answer?.schema) {
    const parsed = answer.schema.safeParse(body);
    return parsed.success ? undefined : `${res.status} does not match its schema: ${parsed.error.message}`;
  }
  const codes = routeErrorCodes(spec).filter((code) => ERROR_STATUS[code] === res.status);
  const [first, ...rest] = codes;
  if (!first) return `${res.status} is not a documented status (${JSON.stringify(body)})`;
  const parsed = errorSchema([first, ...rest]).safeParse(body);
  return parsed.success ? undefined : `${res.status} is not a documented error: ${JSON.stringify(body)}`;
}

/**
 * Tests only (GatewayOptions.checkResponses): every answer of a declared route is checked against
 * the route's own response schemas and error codes, so the whole suite keeps /openapi.json honest.
 * A mismatch becomes a 500 naming the route and the problem, which fails the test that caused it.
 */
export function checkResponses(app: object): MiddlewareHandler {
  return async function checkResponsesMiddleware(c, next) {
    await next();
    if (c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return;
    const pattern = routeLabel(c);
    if (pattern === UNMATCHED) return;
    const key = routeKey(c.req.method, pattern);
    const spec = declaredRoutes(app).get(key);
    const problem = spec ? await responseProblem(spec, c.res) : 'the route is not in the OpenAPI document';
    if (!problem) return;
    c.res = new Response(
      JSON.stringify({
        error: `Undocumented answer from ${key}: ${problem}`,
        code: 'INTERNAL_ERROR',
        requestId: c.get('requestId') ?? '',
      }),
      { status: 500, headers: { 'content-type': 'application/json' } },
    );
  };
}
