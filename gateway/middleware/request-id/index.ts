import type { MiddlewareHandler } from 'hono';
import { newId } from '../../ids.ts';

export interface RequestIdOptions {
  headerName?: string;
  /** An incoming id is kept only if it matches (DESIGN §3: up to 128 safe characters). */
  accept?: RegExp;
  generate?: () => string;
}

export interface RequestIdVariables {
  requestId: string;
}

export function requestId({
  headerName = 'X-Request-Id',
  accept = /^[A-Za-z0-9._:-]{1,128}$/,
  generate = () => newId('request'),
}: RequestIdOptions = {}): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header(headerName);
    const id = incoming && accept.test(incoming) ? incoming : generate();
    c.set('requestId', id);
    c.header(headerName, id);
    await next();
    // Error responses are built in onError after the first set; make sure every one carries it.
    c.res.headers.set(headerName, id);
  };
}
