import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';

/** The fields of the one log event a request produces (STYLE §11); handlers add to it. */
export interface LogFields {
  workspace?: string;
  agent?: string;
  member?: string;
  businessId?: string;
  transactionId?: string;
  decision?: string;
  errorCode?: string;
  upstreamMs?: number;
  [key: string]: unknown;
}

export interface WideLogOptions {
  logger: Logger;
}

export interface WideLogVariables {
  requestId: string;
  log: LogFields;
}

/** Emits one event per request after the response is built: route, status, duration and what handlers added. */
export function wideLog({ logger }: WideLogOptions): MiddlewareHandler<{ Variables: WideLogVariables }> {
  return async function wideLogMiddleware(c, next) {
    const started = performance.now();
    const fields: LogFields = {};
    c.set('log', fields);
    await next();
    const status = c.res.status;
    const event = {
      requestId: c.get('requestId'),
      method: c.req.method,
      route: routePath(c, -1),
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      ...fields,
    };
    if (status >= 500) logger.error(event, 'request');
    else logger.info(event, 'request');
  };
}
