import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { type ErrorCode, errorBody, GatewayError } from './domain/errors.ts';
import type { GatewayEnv } from './env.ts';
import { toIssues } from './routes/validate.ts';

function send(c: Context<GatewayEnv>, error: GatewayError) {
  const body = errorBody(error, c.get('requestId'));
  const log = c.get('log');
  if (log) log.errorCode = error.code;
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(body, error.status);
}

const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
};

/** One place where every failure becomes the JSON envelope of DESIGN §3; never a stack trace. */
export function errorHandler(logger: Logger): ErrorHandler<GatewayEnv> {
  return function onError(err, c) {
    if (err instanceof GatewayError) return send(c, err);
    if (err instanceof ZodError) {
      return send(c, new GatewayError('VALIDATION_ERROR', 'The request is not valid.', toIssues(err)));
    }
    if (err instanceof HTTPException && HTTP_CODES[err.status]) {
      return send(
        c,
        new GatewayError(HTTP_CODES[err.status] as ErrorCode, err.message || 'Request refused.'),
      );
    }
    logger.error({ err, requestId: c.get('requestId') }, 'unhandled error');
    return send(c, new GatewayError('INTERNAL_ERROR', 'Something went wrong on our side.'));
  };
}

export const notFound: NotFoundHandler<GatewayEnv> = (c) =>
  send(c, new GatewayError('NOT_FOUND', `No route for ${c.req.method} ${c.req.path}.`));
