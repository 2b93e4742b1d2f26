import {
  type Attributes,
  type Context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Config } from '../../config/index.ts';
import { GATEWAY_VERSION } from '../version.ts';

/**
 * OpenTelemetry traces (issue 24). The gateway writes its spans with `@opentelemetry/api` and hands
 * the parent context down explicitly (`ctx.trace`), so several gateways in one process (tests) each
 * keep their own provider and nothing depends on a global context manager.
 *
 * Exporting (OTEL_EXPORTER_OTLP_ENDPOINT or …_TRACES_ENDPOINT): a NodeTracerProvider of its own with
 * a batch processor and the OTLP/HTTP exporter; the SDK reads the other standard variables (headers,
 * timeout, sampler, batch sizes, OTEL_RESOURCE_ATTRIBUTES) itself. Not exporting: nothing is
 * registered and the tracer is the API's global one, the no-op unless the operator preloads an SDK;
 * a request then carries a trace only when the agent sent a `traceparent`, which is passed on to the
 * business and recorded, at the cost of reading one header.
 */
export interface Tracing {
  tracer: Tracer;
  /** Spans are exported: every request starts a trace (or continues the agent's). */
  exporting: boolean;
  shutdown(): Promise<void>;
}

/** W3C Trace Context (traceparent, tracestate), used directly: no global propagator is registered. */
const W3C = new W3CTraceContextPropagator();

export const TRACER_NAME = 'warden';

export function createTracing(config: Config['tracing']): Tracing {
  if (!config.tracesUrl) {
    return {
      tracer: trace.getTracer(TRACER_NAME, GATEWAY_VERSION),
      exporting: false,
      shutdown: async () => undefined,
    };
  }
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: config.serviceName,
    [ATTR_SERVICE_VERSION]: GATEWAY_VERSION,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  return {
    tracer: provider.getTracer(TRACER_NAME, GATEWAY_VERSION),
    exporting: true,
    // Flushes what is batched, then stops: spans of the last requests are not lost at shutdown.
    shutdown: () => provider.shutdown(),
  };
}

/**
 * The parent context of an incoming request: the agent's `traceparent`/`tracestate` (W3C Trace
 * Context §3) when valid, else the root; a malformed header is ignored, as the specification asks.
 */
export function extractTraceContext(
  traceparent: string | undefined,
  tracestate: string | undefined,
): Context {
  if (!traceparent) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (tracestate) carrier.tracestate = tracestate;
  return W3C.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/**
 * Where a request's trace stands, handed down in `ctx.trace`: the tracer and the context of the
 * current span. Absent: the request is not traced and no span is made below it.
 */
export interface Traced {
  tracer: Tracer;
  context: Context;
}

/** The W3C trace id (32 lowercase hex) of the current span; undefined when there is none. */
export function traceIdOf(traced: Traced | undefined): string | undefined {
  if (!traced) return undefined;
  const spanContext = trace.getSpanContext(traced.context);
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/**
 * A span of the gateway's own work under `parent` (nothing at all when the request is not traced).
 * Attributes are built by `attributes` only when the span records: an unsampled or no-op span costs
 * no allocation of them.
 */
export function startChildSpan(
  parent: Traced | undefined,
  name: string,
  attributes?: () => Attributes,
  kind: SpanKind = SpanKind.INTERNAL,
): { span: Span; trace: Traced } | undefined {
  if (!parent) return undefined;
  const span = parent.tracer.startSpan(name, { kind }, parent.context);
  if (attributes && span.isRecording()) span.setAttributes(attributes());
  return { span, trace: { tracer: parent.tracer, context: trace.setSpan(parent.context, span) } };
}

/** Ends a span, marking it failed with the error's type (OTel `error.type`) when there was one. */
export function endSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return;
  if (error !== undefined && span.isRecording()) {
    const type =
      typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
        ? error.code
        : error instanceof Error
          ? error.name
          : '_OTHER';
    span.setAttribute('error.type', type);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : undefined,
    });
  }
  span.end();
}

/**
 * Runs `fn` in a child span of `parent` (or plainly, when the request is not traced) and ends it,
 * failed if `fn` throws.
 */
export async function inSpan<T>(
  parent: Traced | undefined,
  name: string,
  attributes: (() => Attributes) | undefined,
  fn: (child: Traced | undefined, span: Span | undefined) => Promise<T>,
): Promise<T> {
  const started = startChildSpan(parent, name, attributes);
  if (!started) return fn(undefined, undefined);
  try {
    const result = await fn(started.trace, started.span);
    endSpan(started.span);
    return result;
  } catch (err) {
    endSpan(started.span, err);
    throw err;
  }
}

export { SpanKind };
