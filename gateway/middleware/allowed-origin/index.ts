import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../../domain/index.ts';

export interface AllowedOriginOptions {
  /** Origins (`scheme://host[:port]`) a browser may call from; empty: none. */
  allowed: readonly string[];
}

/**
 * Refuses a request whose `Origin` header names an origin not in `allowed` (403). The MCP Streamable
 * HTTP transport requires servers to validate Origin against DNS rebinding (MCP 2025-06-18,
 * basic/transports §Security Warning); requests without the header (non-browser clients) pass.
 */
export function allowedOrigin({ allowed }: AllowedOriginOptions): MiddlewareHandler {
  const origins = new Set(allowed);
  return async function allowedOriginMiddleware(c, next) {
    const origin = c.req.header('Origin');
    if (origin !== undefined && !origins.has(origin)) {
      throw new GatewayError('FORBIDDEN', `Origin ${origin} is not allowed (MCP_ALLOWED_ORIGINS).`);
    }
    await next();
  };
}
