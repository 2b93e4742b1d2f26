import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { extractTraceContext, traceContextHeaders } from '../../adapters/http/trace-context.ts';
import type { Config } from '../../config/index.ts';
import type { StoredTraceContext } from '../domain/index.ts';
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
  /** Exports what is batched now (tests; the batch processor otherwise exports every few seconds). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export const TRACER_NAME = 'warden';

export async function createTracing(config: Config['tracing']): Promise<Tracing> {
  if (!config.tracesUrl) {
    return {
      tracer: trace.getTracer(TRACER_NAME, GATEWAY_VERSION),
      exporting: false,
      flush: async () => undefined,
      shutdown: async () => undefined,
    };
  }
  // Loaded only when exporting: a gateway that does not export never pays for the SDK's start-up.
  const [{ OTLPTraceExporter }, { detectResources, envDetector, resourceFromAttributes }, sdkBase, sdkNode] =
    await Promise.all([
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/sdk-trace-node'),
    ]);
  const { BatchSpanProcessor } = sdkBase;
  const { NodeTracerProvider } = sdkNode;
  // service.name and service.version (OTel resource conventions); OTEL_RESOURCE_ATTRIBUTES adds to them.
  const resource = resourceFromAttributes({
    'service.name': config.serviceName,
    'service.version': GATEWAY_VERSION,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  return {
    tracer: provider.getTracer(TRACER_NAME, GATEWAY_VERSION),
    exporting: true,
    flush: () => provider.forceFlush(),
    // Flushes what is batched, then stops: spans of the last requests are not lost at shutdown.
    shutdown: () => provider.shutdown(),
  };
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
export function inSpan<T>(
  parent: Traced | undefined,
  name: string,
  attributes: (() => Attributes) | undefined,
  fn: (child: Traced | undefined, span: Span | undefined) => Promise<T>,
): Promise<T> {
  // Not traced: `fn`'s own promise, with no async frame around it (three per execute otherwise).
  if (!parent) return fn(undefined, undefined);
  return inStartedSpan(startChildSpan(parent, name, attributes), fn);
}

async function inStartedSpan<T>(
  started: ReturnType<typeof startChildSpan>,
  fn: (child: Traced | undefined, span: Span | undefined) => Promise<T>,
): Promise<T> {
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

/**
 * The W3C trace context of the current span, stored with a transaction so that work done later for
 * it continues the same trace; undefined when the request is not traced.
 */
export function storedTraceContextOf(traced: Traced | undefined): StoredTraceContext | undefined {
  return traced ? traceContextHeaders(traced.context) : undefined;
}

/**
 * Runs the deferred part of an execute (its forward once approved, its release from the queue) in a
 * span continuing the trace its request stored, so the business's `traceparent` carries the agent's
 * trace id. The span is a CONSUMER child of that context, as OTel's span kinds model a deferred,
 * asynchronous child of the request that asked; it links to `trigger` (the approver's request) when
 * there is one. Nothing stored: under `trigger`, else a trace of its own when exporting. Not
 * exporting, the stored context is passed on unchanged (the no-op span keeps it), as a request's is.
 */
export function inDeferredSpan<T>(
  tracing: Pick<Tracing, 'tracer' | 'exporting'>,
  stored: StoredTraceContext | null,
  trigger: Traced | undefined,
  name: string,
  attributes: () => Attributes,
  fn: (child: Traced | undefined) => Promise<T>,
): Promise<T> {
  const continued = stored && extractTraceContext(stored.traceparent, stored.tracestate);
  const parent =
    continued && trace.getSpanContext(continued) ? continued : (trigger?.context ?? ROOT_CONTEXT);
  if (!tracing.exporting && !trace.getSpanContext(parent)) return fn(undefined);
  const cause = trigger && parent !== trigger.context ? trace.getSpanContext(trigger.context) : undefined;
  const span = tracing.tracer.startSpan(
    name,
    { kind: SpanKind.CONSUMER, ...(cause ? { links: [{ context: cause }] } : {}) },
    parent,
  );
  if (span.isRecording()) span.setAttributes(attributes());
  const started = { span, trace: { tracer: tracing.tracer, context: trace.setSpan(parent, span) } };
  return inStartedSpan(started, fn);
}

/** W3C Trace Context in (no global propagator is registered): the agent's `traceparent` and `tracestate`. */
export { extractTraceContext } from '../../adapters/http/trace-context.ts';
export { SpanKind };
