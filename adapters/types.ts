import type { Context, Tracer } from '@opentelemetry/api';

/**
 * The adapter contract (DESIGN §7). An adapter turns an AGP operation into a call on a business.
 * Adapters know nothing of HTTP routes, the ledger or policies; they throw `AdapterError` on failure.
 */
export type Operation = 'discover' | 'query' | 'execute';

/** What an adapter reports; `pending_confirmation` is adapter-level confirmation (DESIGN §7). */
export type AdapterStatus = 'succeeded' | 'failed' | 'pending_confirmation';

export interface AdapterResult {
  status: AdapterStatus;
  data?: unknown;
}

/**
 * Issue 24: the trace a call belongs to (OpenTelemetry): the tracer and the context of the caller's
 * span. The http adapter makes its client span under it and sends its `traceparent` to the business.
 */
export interface AdapterTrace {
  tracer: Tracer;
  context: Context;
}

export interface AdapterContext {
  businessId: string;
  transactionId: string;
  /** Aborted when the caller goes away or the gateway shuts down. */
  signal?: AbortSignal;
  /** The gateway's request id, forwarded as `X-Request-Id` by the http adapter. */
  requestId?: string;
  /**
   * Extra headers to forward (e.g. `traceparent`). The http adapter drops hop-by-hop headers (RFC 9110 §7.6.1)
   * and never lets these replace the ones it sets itself (signature, idempotency key, content headers).
   */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Issue 24: the caller's span; undefined when the request is not traced. */
  trace?: AdapterTrace | undefined;
}

/**
 * What a module adapter's `discover`, `query` and `execute` receive as `ctx` (docs/businesses.md,
 * "Module adapters"): the call's identifiers and extra headers as the gateway passes them, its
 * signal and fetch, made in the module's worker, and the trace it belongs to.
 */
export interface ModuleCallContext {
  businessId: string;
  transactionId: string;
  requestId?: string;
  headers?: AdapterContext['headers'];
  /** Aborted when the call is cancelled or exceeds MODULE_ADAPTER_TIMEOUT_MS. */
  signal: AbortSignal;
  /** The module's way out: WHATWG fetch performed by the gateway; `sign: true` adds Standard Webhooks headers. */
  fetch(input: string | URL | Request, init?: RequestInit & { sign?: boolean }): Promise<Response>;
  /**
   * Issue 24: W3C Trace Context of the gateway's span for this call (in the agent's trace) when it is
   * traced; send them on (`ctx.fetch` headers) so the business's spans join the trace.
   */
  traceparent?: string;
  tracestate?: string;
}

export interface ExecuteOptions {
  idempotencyKey?: string;
}

export interface Description {
  summary: string;
  /** Minor units, when the adapter can tell. */
  amount?: number;
  currency?: string;
}

export interface Adapter {
  discover(ctx: AdapterContext): Promise<AdapterResult>;
  query(request: Record<string, unknown>, ctx: AdapterContext): Promise<AdapterResult>;
  execute(
    request: Record<string, unknown>,
    options: ExecuteOptions,
    ctx: AdapterContext,
  ): Promise<AdapterResult>;
  /** Summary and amount for prepare and approval pages. */
  describe?(request: Record<string, unknown>): Description;
  /** The business's own cap on calls in flight (issue 18), below the gateway's ADAPTER_MAX_CONCURRENCY. */
  readonly maxConcurrency?: number;
  close?(): Promise<void>;
}

export type AdapterErrorCode = 'ADAPTER_ERROR' | 'ADAPTER_TIMEOUT';

/**
 * A failure to reach the business or a refusal by it; the gateway maps the code to 502/504.
 * `mayHaveActed` says whether the business may have received and acted on the request: a timeout
 * waiting for its answer, or a connection lost after the request was sent (DESIGN §7). The ledger
 * then records the outcome as `unknown` instead of `failed`, and keeps the spend reserved.
 */
export class AdapterError extends Error {
  override readonly name = 'AdapterError';
  readonly mayHaveActed: boolean;
  constructor(
    readonly code: AdapterErrorCode,
    message: string,
    readonly upstreamStatus?: number,
    options?: { cause?: unknown; mayHaveActed?: boolean },
  ) {
    super(message, options);
    this.mayHaveActed = options?.mayHaveActed ?? false;
  }
}

export interface HttpOperationOverride {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
}

/** Which signatures a business's forwards carry (issue 24); a missing one is on. */
export interface ForwardSignatures {
  /** Standard Webhooks HMAC headers (`webhook-signature`), under the business's secret. */
  standardWebhooks?: boolean;
  /** HTTP Message Signatures (RFC 9421, Web Bot Auth profile) under the deployment's key. */
  httpMessageSignatures?: boolean;
}

/** How a business is reached, as registered by the operator. */
export type AdapterConfig =
  | {
      type: 'http';
      baseUrl: string;
      operations?: Partial<Record<Operation, HttpOperationOverride>>;
      /** A business's own bound on a call (issue 12), below ADAPTER_TIMEOUT_MS. */
      timeoutMs?: number;
      /** A business's own cap on calls in flight to it (issue 18), below ADAPTER_MAX_CONCURRENCY. */
      maxConcurrency?: number;
      /** Issue 24: how forwards are signed; both on unless set to false (never both off). */
      signatures?: ForwardSignatures;
    }
  | { type: 'echo' }
  | { type: 'module'; name: string };
