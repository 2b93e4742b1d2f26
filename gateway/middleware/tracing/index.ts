import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { extractTraceContext, type Traced, type Tracing, traceIdOf } from '../../tracing/index.ts';
import type { LogFields } from '../wide-log/index.ts';

export interface TracingOptions {
  tracing: Tracing;
}

export interface TracingVariables {
  /** The request's span and its tracer; undefined when the request is not traced. */
  trace: Traced | undefined;
  log: LogFields;
}

/**
 * The request's server span (issue 24), named and described by OTel's HTTP semantic conventions
 * (`{method} {http.route}`, `http.request.method`, `url.path`, `server.address` …). It continues the
 * agent's `traceparent`/`tracestate` when they are valid. Not exporting and no `traceparent`: the
 * request is not traced at all (one header read). The trace id joins the request's log line.
 */
export function tracing({ tracing }: TracingOptions): MiddlewareHandler<{ Variables: TracingVariables }> {
  const { tracer, exporting } = tracing;
  return async function tracingMiddleware(c, next) {
    const traceparent = c.req.header('traceparent');
    if (!exporting && !traceparent) return next();
    const parent = extractTraceContext(traceparent, c.req.header('tracestate'));
    if (!exporting && !trace.getSpanContext(parent)) return next();
    const method = c.req.method;
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
    const traced: Traced = { tracer, context: trace.setSpan(parent, span) };
    c.set('trace', traced);
    const traceId = traceIdOf(traced);
    if (traceId) c.get('log').traceId = traceId;
    const recording = span.isRecording();
    if (recording) {
      const url = new URL(c.req.url);
      const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
      span.setAttributes({
        'http.request.method': method,
        'url.path': url.pathname,
        'url.scheme': url.protocol.slice(0, -1),
        'server.address': url.hostname,
        'server.port': port,
        ...(c.req.header('user-agent') ? { 'user_agent.original': c.req.header('user-agent') } : {}),
      });
    }
    try {
      await next();
    } finally {
      if (recording) {
        const route = routePath(c, -1);
        const status = c.res.status;
        span.updateName(`${method} ${route}`);
        span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
        // HTTP semantic conventions: a server span fails on 5xx only (a 4xx is the client's).
        if (status >= 500) {
          span.setAttribute('error.type', String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      }
      span.end();
    }
  };
}
