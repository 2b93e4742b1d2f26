import type { RouteConfig } from '@hono/zod-openapi';
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../../domain/index.ts';
import { PROBE_PATHS } from '../../middleware/load-shed/index.ts';
import { named } from './common.ts';
import type { RouteSpec } from './spec.ts';

/** The refusals every route of a kind can answer with, before its own (DESIGN §3). */
function implicitCodes(spec: Pick<RouteSpec, 'access' | 'body' | 'query' | 'method' | 'path'>): ErrorCode[] {
  const codes: ErrorCode[] = ['INTERNAL_ERROR'];
  // Shed past HTTP_MAX_IN_FLIGHT (issue 18), except the load balancers' probes.
  if (!PROBE_PATHS.has(spec.path)) codes.push('SERVICE_UNAVAILABLE');
  switch (spec.access.principal) {
    case 'agent':
      codes.push('UNAUTHORIZED', 'FORBIDDEN', 'WORKSPACE_ARCHIVED', 'RATE_LIMITED');
      break;
    case 'member':
      codes.push('UNAUTHORIZED', 'FORBIDDEN', 'WORKSPACE_ARCHIVED');
      break;
    case 'operator':
      codes.push('UNAUTHORIZED', 'OPERATOR_API_DISABLED');
      break;
    case 'business':
    case 'metrics':
      codes.push('UNAUTHORIZED');
      break;
    default:
      break;
  }
  // Anything that reads or writes the ledger may find the database gone (DESIGN §8).
  if (spec.access.principal !== 'public' && spec.access.principal !== 'metrics') {
    codes.push('DATABASE_UNAVAILABLE');
  }
  // Any path, query, header or body may hold text no store keeps (middleware/storable-text).
  codes.push('VALIDATION_ERROR');
  if (spec.body) codes.push('PAYLOAD_TOO_LARGE');
  return codes;
}

/** Every code a route can answer with, in the order of the one code→status table. */
export function routeErrorCodes(
  spec: Pick<RouteSpec, 'access' | 'body' | 'query' | 'method' | 'path' | 'errors'>,
): ErrorCode[] {
  const wanted = new Set<ErrorCode>([...implicitCodes(spec), ...(spec.errors ?? [])]);
  return (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => wanted.has(code));
}

/** Every error's shape, `Error` in the document; each route narrows `code` to the ones it lists. */
const errorEnvelope = named(
  'Error',
  z.object({
    error: z.string().describe('A sentence for a person.'),
    code: z.string().describe('What went wrong, for a program: one of the codes the operation lists.'),
    requestId: z.string().describe('The request id, also in the `X-Request-Id` header and the logs.'),
    details: z.unknown().optional().describe('Validation issues with paths, the rule that refused, limits.'),
  }),
);

const byCodes = new Map<string, ReturnType<typeof narrowed>>();
const narrowed = (codes: readonly [ErrorCode, ...ErrorCode[]]) =>
  errorEnvelope.extend({ code: z.enum(codes) });

/**
 * The error envelope (DESIGN §3) restricted to `codes`; one schema per set of codes, since each is
 * also an entry of the OpenAPI registry and the response check asks for one per error answer.
 */
export function errorSchema(codes: readonly [ErrorCode, ...ErrorCode[]]) {
  const key = codes.join(',');
  let schema = byCodes.get(key);
  if (!schema) {
    schema = narrowed(codes);
    byCodes.set(key, schema);
  }
  return schema;
}

/** The error responses of a route, grouped by status from ERROR_STATUS: generated, never written. */
export function errorResponses(spec: RouteSpec): RouteConfig['responses'] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of routeErrorCodes(spec)) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: RouteConfig['responses'] = {};
  for (const [status, codes] of byStatus) {
    if (spec.responses[status]) continue;
    const [first, ...rest] = codes as [ErrorCode, ...ErrorCode[]];
    responses[String(status)] = {
      description: codes.join(', '),
      ...(status === 429 || status === 503
        ? {
            headers: z.object({
              'Retry-After': z
                .string()
                .describe(
                  'Seconds until the request is worth repeating: the rate-limit window reopens, the cool-down ends, or capacity may be free.',
                ),
            }),
          }
        : {}),
      content: {
        'application/json': {
          schema: errorSchema([first, ...rest]),
          examples: Object.fromEntries(
            codes.map((code) => [
              code,
              { value: { error: `An example of ${code}.`, code, requestId: '01JEXAMPLE0000000000000000' } },
            ]),
          ),
        },
      },
    };
  }
  return responses;
}
