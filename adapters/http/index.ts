import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import {
  type Adapter,
  type AdapterConfig,
  type AdapterContext,
  AdapterError,
  type AdapterResult,
  type AdapterStatus,
  type HttpOperationOverride,
  type Operation,
} from '../types.ts';
import { stripHopByHop } from './hop-by-hop.ts';
import type { MessageSigner } from './message-signature.ts';
import { createSigner } from './signature.ts';
import { injectTraceContext } from './trace-context.ts';

export interface HttpAdapterOptions {
  businessId: string;
  config: Extract<AdapterConfig, { type: 'http' }>;
  /** Standard Webhooks secret (`whsec_` + base64) the business verifies forwarded requests with. */
  signingSecret: string;
  /** Shared pooled Agent from `createAdapterDispatcher`; owned and closed by the caller. */
  dispatcher: Dispatcher;
  /** Upper bound on an upstream response body; larger answers are an ADAPTER_ERROR. Default 5 MiB. */
  maxResponseBytes?: number;
  /**
   * The secret a rotation replaced (issue 12): until `validUntil` (epoch ms by `clock`) every request
   * carries a signature under it too, in the same `webhook-signature` header (Standard Webhooks lists
   * signatures space-separated), so the business can switch secrets without dropping a call.
   */
  previous?: { signingSecret: string; validUntil: number };
  clock?: () => number;
  /**
   * Issue 24: signs each request with HTTP Message Signatures (RFC 9421) under the deployment's
   * key, beside the Standard Webhooks headers, unless the business turned it off
   * (`signatures.httpMessageSignatures: false`).
   */
  messageSigner?: MessageSigner;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

const STATUSES: ReadonlySet<string> = new Set<AdapterStatus>(['succeeded', 'failed', 'pending_confirmation']);

/**
 * Headers the adapter owns: extra forwarded headers never replace them. Warden's own credentials
 * (agent keys, member tokens, cookies) must not leak to a business either.
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'accept',
  'accept-encoding',
  'expect',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'idempotency-key',
  'content-digest',
  'signature',
  'signature-input',
  'signature-agent',
  'x-request-id',
  'authorization',
  'x-api-key',
  'cookie',
  'x-confirmation-token',
]);

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Upstream failures by undici/Node error code (undici lib/core/errors.js); messages are never parsed. */
const ERROR_MESSAGES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Upstream refused the connection.',
  ECONNRESET: 'Upstream reset the connection.',
  EPIPE: 'Upstream closed the connection.',
  UND_ERR_SOCKET: 'Upstream closed the connection.',
  ENOTFOUND: 'Upstream host not found.',
  EAI_AGAIN: 'Upstream host name could not be resolved.',
  EHOSTUNREACH: 'Upstream host unreachable.',
  ENETUNREACH: 'Upstream network unreachable.',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'Upstream response was truncated.',
  UND_ERR_HEADERS_OVERFLOW: 'Upstream response headers too large.',
  UND_ERR_CLOSED: 'Adapter dispatcher is closed.',
  UND_ERR_DESTROYED: 'Adapter dispatcher is closed.',
};

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if ('code' in err && typeof err.code === 'string') return err.code;
  // Happy-eyeballs connects may fail with an AggregateError of the per-address errors.
  if (err instanceof AggregateError) return errorCode(err.errors[0]);
  return undefined;
}

/**
 * Failures that happen before a byte of the request left: the business cannot have acted on it. Any
 * other failure (a reset, a closed socket, a garbled answer) may come after it was sent.
 */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/** Maps anything thrown while talking to the upstream onto ADAPTER_ERROR / ADAPTER_TIMEOUT. */
export function toAdapterError(err: unknown, signal?: AbortSignal): AdapterError {
  if (err instanceof AdapterError) return err;
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    const options = { cause: err, mayHaveActed: true };
    return reason instanceof Error && reason.name === 'TimeoutError'
      ? new AdapterError('ADAPTER_TIMEOUT', 'Upstream did not answer in time.', undefined, options)
      : new AdapterError('ADAPTER_ERROR', 'Upstream request aborted.', undefined, options);
  }
  const code = errorCode(err);
  const tls = code?.startsWith('ERR_TLS') || code?.includes('CERT');
  const mayHaveActed = !(code !== undefined && (NOT_SENT_CODES.has(code) || tls));
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    const message =
      code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT'
        ? 'Upstream connection timed out.'
        : 'Upstream did not answer in time.';
    return new AdapterError('ADAPTER_TIMEOUT', message, undefined, { cause: err, mayHaveActed });
  }
  let message = (code && ERROR_MESSAGES[code]) || 'Upstream request failed.';
  if (code?.startsWith('HPE_')) message = 'Upstream sent an invalid HTTP response.';
  else if (tls) message = 'TLS connection to upstream failed.';
  return new AdapterError('ADAPTER_ERROR', message, undefined, { cause: err, mayHaveActed });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{status, data}` (or AGP's `{status, …fields}`) is passed through; any other JSON is a success's data. */
export function toAdapterResult(json: unknown): AdapterResult {
  if (isRecord(json) && typeof json.status === 'string' && STATUSES.has(json.status)) {
    const status = json.status as AdapterStatus;
    if ('data' in json) return { status, data: json.data };
    const rest = Object.fromEntries(Object.entries(json).filter(([key]) => key !== 'status'));
    return Object.keys(rest).length > 0 ? { status, data: rest } : { status };
  }
  return json === undefined ? { status: 'succeeded' } : { status: 'succeeded', data: json };
}

/** Destroys a body we will not read; the listener keeps undici's AbortError from going unhandled. */
function discard(body: Dispatcher.ResponseData['body']): void {
  if (body.destroyed) return;
  body.on('error', () => undefined);
  body.destroy();
}

async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      discard(body);
      // Only a 2xx body is read: the business acted, and its answer cannot be kept.
      throw new AdapterError('ADAPTER_ERROR', 'Upstream response too large.', undefined, {
        mayHaveActed: true,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Issue 24: the client span of one forward, named and described by OTel's HTTP client conventions,
 * whose context the business receives as `traceparent` (and the agent's `tracestate`). A call that
 * is not traced gets neither.
 */
function startClientSpan(
  ctx: AdapterContext,
  method: string,
  url: URL,
  headers: Record<string, string | string[]>,
): Span | undefined {
  const traced = ctx.trace;
  if (!traced) return undefined;
  const span = traced.tracer.startSpan(method, { kind: SpanKind.CLIENT }, traced.context);
  if (span.isRecording()) {
    span.setAttributes({
      'http.request.method': method,
      'server.address': url.hostname,
      'server.port': url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
      'url.full': `${url.origin}${url.pathname}`,
    });
  }
  injectTraceContext(trace.setSpan(traced.context, span), headers);
  return span;
}

function endClientSpan(span: Span | undefined, statusCode: number | undefined, error?: AdapterError): void {
  if (!span) return;
  if (span.isRecording()) {
    if (statusCode !== undefined) span.setAttribute('http.response.status_code', statusCode);
    if (error) {
      // HTTP client conventions: the status code when the business answered one, else what failed.
      span.setAttribute('error.type', error.upstreamStatus ? String(error.upstreamStatus) : error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
  }
  span.end();
}

function queryValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * The `http` adapter (DESIGN §7): forwards each operation to the business's endpoint, signed with Standard
 * Webhooks headers so the business can tell it came from this gateway.
 */
export function createHttpAdapter({
  businessId,
  config,
  signingSecret,
  dispatcher,
  maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
  previous,
  clock = Date.now,
  messageSigner,
}: HttpAdapterOptions): Adapter {
  const base = new URL(config.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`Business ${businessId}: adapter baseUrl must be http or https.`);
  }
  const origin = base.origin;
  const prefix = base.pathname.replace(/\/+$/, '');
  // Parsing the secret here makes a malformed one fail when the adapter is built, not per request.
  const sign = createSigner(signingSecret);
  const timeoutMs = config.timeoutMs;
  const signPrevious = previous ? createSigner(previous.signingSecret) : undefined;
  const previousUntil = previous?.validUntil ?? 0;
  // Issue 24: both on unless the business turned one off.
  const standardWebhooks = config.signatures?.standardWebhooks !== false;
  const signMessage = config.signatures?.httpMessageSignatures === false ? undefined : messageSigner;

  // Each operation's method and URL, resolved once, when the adapter is built.
  const routes = Object.fromEntries(
    (['discover', 'query', 'execute'] as const).map((operation) => {
      const route: HttpOperationOverride = config.operations?.[operation] ?? {
        method: 'POST',
        path: `/agp/${operation}`,
      };
      const path = route.path.startsWith('/') ? route.path : `/${route.path}`;
      // Concatenated, not resolved, so a path like //other.host/x cannot leave the business's origin.
      const url = new URL(`${origin}${prefix}${path}`);
      return [operation, { method: route.method, url, path: `${url.pathname}${url.search}` }];
    }),
  ) as Record<Operation, { method: HttpOperationOverride['method']; url: URL; path: string }>;

  async function call(
    operation: Operation,
    request: Record<string, unknown>,
    ctx: AdapterContext,
    idempotencyKey?: string,
  ): Promise<AdapterResult> {
    const route = routes[operation];
    const { transactionId } = ctx;
    // The business's own bound (issue 12); the dispatcher's ADAPTER_TIMEOUT_MS still applies.
    const signal = timeoutMs
      ? ctx.signal
        ? AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)])
        : AbortSignal.timeout(timeoutMs)
      : ctx.signal;

    let payload = '';
    let path = route.path;
    if (route.method === 'GET') {
      // No body on GET: the identifiers and the request's fields travel in the query string.
      const url = new URL(route.url);
      url.searchParams.append('businessId', businessId);
      url.searchParams.append('transactionId', transactionId);
      for (const [key, value] of Object.entries(request)) {
        const text = queryValue(value);
        if (text !== undefined && key !== 'businessId' && key !== 'transactionId') {
          url.searchParams.append(key, text);
        }
      }
      path = `${url.pathname}${url.search}`;
    } else {
      payload = JSON.stringify({ businessId, request, transactionId });
    }

    const headers: Record<string, string | string[]> = {};
    if (ctx.headers) {
      for (const [name, value] of Object.entries(stripHopByHop(ctx.headers))) {
        if (!RESERVED_HEADERS.has(name)) headers[name] = value;
      }
    }
    const timestamp = Math.floor(Date.now() / 1000);
    headers.accept = 'application/json';
    // Identity only: the body is parsed here, never relayed, so there is nothing to gain from decoding.
    headers['accept-encoding'] = 'identity';
    headers['webhook-id'] = transactionId;
    if (standardWebhooks) {
      headers['webhook-timestamp'] = String(timestamp);
      // The signed payload is exactly the bytes sent (the empty string for GET).
      headers['webhook-signature'] =
        signPrevious && clock() < previousUntil
          ? `${sign(transactionId, timestamp, payload)} ${signPrevious(transactionId, timestamp, payload)}`
          : sign(transactionId, timestamp, payload);
    }
    if (route.method !== 'GET') headers['content-type'] = 'application/json';
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    if (ctx.requestId !== undefined) headers['x-request-id'] = ctx.requestId;
    const span = startClientSpan(ctx, route.method, route.url, headers);
    const sent = route.method === 'GET' ? null : Buffer.from(payload, 'utf8');
    if (signMessage) {
      signMessage({ method: route.method, url: `${origin}${path}`, headers, body: sent, now: timestamp });
    }

    let response: Dispatcher.ResponseData | undefined;
    try {
      response = await dispatcher.request({
        origin,
        path,
        method: route.method,
        headers,
        body: sent,
        signal,
      });
      const { statusCode, body } = response;
      if (statusCode < 200 || statusCode > 299) {
        // Drain (bounded) so the socket goes back to the pool.
        await body.dump().catch(() => undefined);
        await nextTurn();
        throw new AdapterError('ADAPTER_ERROR', `Upstream answered ${statusCode}.`, statusCode);
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxResponseBytes) {
        discard(body);
        throw new AdapterError('ADAPTER_ERROR', 'Upstream response too large.', statusCode, {
          mayHaveActed: true,
        });
      }
      const raw = await readCapped(body, maxResponseBytes);
      // undici marks the connection idle in a setImmediate after the response completes; yielding once lets
      // a back-to-back call to this origin reuse the socket instead of opening a second one.
      await nextTurn();
      const text = raw.toString('utf8');
      if (text.trim() === '') {
        endClientSpan(span, statusCode);
        return { status: 'succeeded' };
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (cause) {
        const message = 'Upstream answered with a body that is not JSON.';
        throw new AdapterError('ADAPTER_ERROR', message, statusCode, { cause, mayHaveActed: true });
      }
      endClientSpan(span, statusCode);
      return toAdapterResult(json);
    } catch (err) {
      // Whatever happened, never leave a half-read body holding the socket.
      if (response) discard(response.body);
      const error = toAdapterError(err, signal);
      endClientSpan(span, response?.statusCode, error);
      throw error;
    }
  }

  return {
    discover: (ctx) => call('discover', {}, ctx),
    query: (request, ctx) => call('query', request, ctx),
    execute: (request, options, ctx) => call('execute', request, ctx, options.idempotencyKey),
    ...(config.maxConcurrency === undefined ? {} : { maxConcurrency: config.maxConcurrency }),
  };
}
