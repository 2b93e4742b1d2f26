import type { MiddlewareHandler } from 'hono';
import { bodyLimit as streamingLimit } from 'hono/body-limit';
import { GatewayError } from '../../domain/index.ts';

export interface BodyLimitOptions {
  /** Bodies over this many bytes are refused with 413 (DESIGN §3: 1 MiB). */
  maxBytes: number;
}

/**
 * Refuses a body over the limit with 413 PAYLOAD_TOO_LARGE. A body with a Content-Length is judged
 * by the header alone, so the body is left to be read once, straight from the socket, by whoever
 * needs it (touching the Request's web stream here would route every later read through it, and
 * it shows in the profile). A chunked body, with no length to judge by, is counted as it streams.
 */
export function bodyLimit({ maxBytes }: BodyLimitOptions): MiddlewareHandler {
  const tooLarge = () => {
    throw new GatewayError('PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBytes} bytes.`);
  };
  const streaming = streamingLimit({ maxSize: maxBytes, onError: tooLarge });
  return async function bodyLimitMiddleware(c, next) {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number(length) > maxBytes) tooLarge();
      return next();
    }
    return streaming(c, next);
  };
}
