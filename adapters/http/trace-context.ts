import {
  type Context,
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  type SpanContext,
  trace,
} from '@opentelemetry/api';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent` and `tracestate` in and
 * out, as OpenTelemetry's W3CTraceContextPropagator does, without loading @opentelemetry/core on
 * every start (issue 24: no cost when tracing is off).
 */

/** version-traceid-parentid-flags (§3.2); a later version may append fields after the flags. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The remote span an incoming `traceparent` names; undefined when it is missing or malformed. */
export function parseTraceparent(
  traceparent: string,
  tracestate: string | undefined,
): SpanContext | undefined {
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match) return undefined;
  const [, version, traceId = '', spanId = '', flags = '00', rest] = match;
  // §3.2.2.1: version ff is invalid; a version 00 header has nothing after the flags.
  if (version === 'ff' || (version === '00' && rest)) return undefined;
  const context: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
  if (tracestate) context.traceState = createTraceState(tracestate);
  // All-zero ids are invalid (§3.2.2.3, §3.2.2.4).
  return isSpanContextValid(context) ? context : undefined;
}

/** The parent context of an incoming request: the span `traceparent` names, else the root. */
export function extractTraceContext(
  traceparent: string | undefined,
  tracestate: string | undefined,
): Context {
  const remote = traceparent ? parseTraceparent(traceparent, tracestate) : undefined;
  return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
}

/**
 * The `traceparent` (and `tracestate`) naming the span of `context`, as they would be sent on; undefined
 * when it has no valid span.
 */
export function traceContextHeaders(
  context: Context,
): { traceparent: string; tracestate?: string } | undefined {
  const span = trace.getSpanContext(context);
  if (!span || !isSpanContextValid(span)) return undefined;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const traceparent = `00-${span.traceId}-${span.spanId}-${flags}`;
  const tracestate = span.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** Sets `traceparent` (and `tracestate`) for the span of `context`; nothing when it has no valid one. */
export function injectTraceContext(context: Context, headers: Record<string, string | string[]>): void {
  const found = traceContextHeaders(context);
  if (!found) return;
  headers.traceparent = found.traceparent;
  if (found.tracestate) headers.tracestate = found.tracestate;
}
