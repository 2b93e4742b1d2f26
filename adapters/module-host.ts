import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Dispatcher } from 'undici';
import { stripHopByHop } from './http/hop-by-hop.ts';
import { DEFAULT_MAX_RESPONSE_BYTES } from './http/index.ts';
import { createSigner } from './http/signature.ts';
import { traceContextHeaders } from './http/trace-context.ts';
import {
  type Adapter,
  type AdapterContext,
  AdapterError,
  type AdapterResult,
  type AdapterStatus,
  type ModuleCallContext,
  type Operation,
} from './types.ts';

/**
 * Where module adapters run (issue 12): one worker_threads Worker per adapter, so a module that throws,
 * loops or exhausts its memory costs its own calls a 502/504, never the gateway's event loop.
 */
export interface ModuleWorkerLimits {
  /** Per call; a call still running then is ADAPTER_TIMEOUT and its worker is terminated. */
  timeoutMs: number;
  /** V8 old-generation heap of the worker (`resourceLimits.maxOldGenerationSizeMb`). */
  memoryMb: number;
}

export interface ModuleHostOptions extends ModuleWorkerLimits {
  /** The module file (absolute path as a file: URL). */
  url: string;
  businessId: string;
  /** The gateway's egress-checked Agent (adapters/http/dispatcher.ts); ctx.fetch goes through it. */
  dispatcher: Dispatcher;
  /** The business's clear signing secret, asked for only when a ctx.fetch says `sign: true`. */
  signingSecret?: () => string;
  maxResponseBytes?: number;
}

/** The worker bootstrap: plain JavaScript beside this file, in adapters/ and (copied by the build) in dist/. */
export const WORKER_URL = new URL('./module-worker.mjs', import.meta.url);

export function workerOptions(
  limits: Pick<ModuleWorkerLimits, 'memoryMb'>,
  workerData: Record<string, unknown>,
): ConstructorParameters<typeof Worker>[1] {
  return {
    workerData,
    // Nothing of the gateway's environment (SECRETS_KEY, WARDEN_ADMIN_TOKEN, DATABASE_URL) and none of
    // its loader flags: the worker sees an empty process.env and plain Node.
    env: {},
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb, stackSizeMb: 4 },
    stdout: false,
    stderr: false,
  };
}

const STATUSES: ReadonlySet<string> = new Set<AdapterStatus>(['succeeded', 'failed', 'pending_confirmation']);

interface ErrorInfo {
  name?: string;
  message?: string;
  code?: string;
  mayHaveActed?: boolean;
  upstreamStatus?: number;
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'init-error'; error: ErrorInfo }
  | { type: 'result'; id: number; result?: unknown; error?: ErrorInfo; unclonable?: boolean }
  | {
      type: 'fetch';
      id: number;
      callId?: number;
      url: string;
      method: string;
      headers: [string, string][];
      body?: Uint8Array;
      sign: boolean;
    }
  | { type: 'fetch-abort'; id: number };

interface PendingCall {
  resolve(result: AdapterResult): void;
  reject(err: AdapterError): void;
  /** Whether this call sent anything out through ctx.fetch: only then may the business have acted. */
  fetched: boolean;
  /** Aborts the call's ctx.fetch requests when it ends early; made by its first ctx.fetch. */
  controller?: AbortController;
}

/** One live worker and what is in flight on it; a replaced worker's slot is never reused. */
interface Slot {
  worker: Worker;
  calls: Map<number, PendingCall>;
  fetches: Map<number, AbortController>;
  dead: boolean;
  /** Why the worker stopped, for the calls it fails. */
  reason?: string;
}

function describeFailure(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown };
    if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') return 'exhausted its memory limit';
    if (typeof e.message === 'string') return `crashed: ${e.message}`;
  }
  return `crashed: ${String(err)}`;
}

function toResult(value: unknown): AdapterResult | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const status = (value as { status?: unknown }).status;
  if (typeof status !== 'string' || !STATUSES.has(status)) return undefined;
  return value as AdapterResult;
}

/** The module's own AdapterError-shaped failures keep their code; anything else is ADAPTER_ERROR. */
function fromModuleError(info: ErrorInfo, fetched: boolean): AdapterError {
  const code = info.code === 'ADAPTER_TIMEOUT' ? 'ADAPTER_TIMEOUT' : 'ADAPTER_ERROR';
  const message =
    info.code === 'ADAPTER_ERROR' || info.code === 'ADAPTER_TIMEOUT'
      ? (info.message ?? 'Adapter module failed.')
      : `Adapter module failed: ${info.message ?? 'unknown error'}`;
  return new AdapterError(code, message, info.upstreamStatus, {
    mayHaveActed: info.mayHaveActed ?? fetched,
  });
}

async function readCapped(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('Response too large.'), { code: 'RESPONSE_TOO_LARGE' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Headers the gateway sets on a signed ctx.fetch; the module cannot supply its own. */
const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];

/**
 * A module adapter behind the Adapter contract the registry expects: each call is a message to the
 * adapter's worker, started lazily and replaced after it dies or is terminated. `describe` is not offered:
 * it is synchronous, and the gateway's thread never waits on a module (prepare falls back to its summary).
 */
export function createModuleHost(options: ModuleHostOptions): Adapter {
  const { url, businessId, dispatcher, timeoutMs, memoryMb } = options;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  let signer: ReturnType<typeof createSigner> | undefined;
  let current: Slot | undefined;
  let closed = false;
  let nextId = 1;

  /** Fails everything in flight on the slot and stops its worker (idempotent). */
  function retire(slot: Slot, reason: string): void {
    if (slot.dead) return;
    slot.dead = true;
    slot.reason = reason;
    if (current === slot) current = undefined;
    for (const fetch of slot.fetches.values()) fetch.abort();
    slot.fetches.clear();
    for (const call of slot.calls.values()) {
      call.reject(
        new AdapterError('ADAPTER_ERROR', `Adapter module ${reason}.`, undefined, {
          mayHaveActed: call.fetched,
        }),
      );
    }
    slot.calls.clear();
    void slot.worker.terminate();
  }

  function start(): Slot {
    const worker = new Worker(WORKER_URL, workerOptions({ memoryMb }, { mode: 'serve', url, businessId }));
    // An idle worker does not keep the process alive; a call in flight does (see `track`).
    worker.unref();
    const slot: Slot = { worker, calls: new Map(), fetches: new Map(), dead: false };
    let failure: unknown;
    worker.on('message', (message: FromWorker) => onMessage(slot, message));
    worker.on('error', (err) => {
      failure = err;
    });
    worker.on('exit', (code) => {
      retire(slot, failure === undefined ? `worker exited (code ${code})` : describeFailure(failure));
    });
    return slot;
  }

  function onMessage(slot: Slot, message: FromWorker): void {
    if (slot.dead) return;
    switch (message.type) {
      case 'ready':
        return;
      case 'init-error':
        retire(slot, `failed to start: ${message.error.message ?? 'unknown error'}`);
        return;
      case 'result': {
        const call = slot.calls.get(message.id);
        if (!call) return;
        slot.calls.delete(message.id);
        if (message.error) {
          call.reject(
            message.unclonable
              ? new AdapterError('ADAPTER_ERROR', 'Adapter module answered data that is not JSON-safe.')
              : fromModuleError(message.error, call.fetched),
          );
          return;
        }
        const result = toResult(message.result);
        if (result) call.resolve(result);
        else {
          call.reject(
            new AdapterError('ADAPTER_ERROR', 'Adapter module answered without a valid status.', undefined, {
              mayHaveActed: call.fetched,
            }),
          );
        }
        return;
      }
      case 'fetch':
        void performFetch(slot, message);
        return;
      case 'fetch-abort':
        slot.fetches.get(message.id)?.abort();
        return;
    }
  }

  async function performFetch(slot: Slot, message: Extract<FromWorker, { type: 'fetch' }>): Promise<void> {
    const controller = new AbortController();
    slot.fetches.set(message.id, controller);
    // A fetch outside any call (the factory, a timer) may act on behalf of every call in flight.
    const owners = message.callId === undefined ? [...slot.calls.values()] : [slot.calls.get(message.callId)];
    for (const owner of owners) {
      if (owner) {
        owner.fetched = true;
        owner.controller ??= new AbortController();
        owner.controller.signal.addEventListener('abort', () => controller.abort(), { once: true });
      }
    }
    const reply = (answer: Record<string, unknown>) => {
      slot.fetches.delete(message.id);
      if (!slot.dead) slot.worker.postMessage({ type: 'fetched', id: message.id, ...answer });
    };
    try {
      const target = new URL(message.url);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') {
        throw Object.assign(new Error('Only http and https URLs can be fetched.'), {
          code: 'ERR_INVALID_URL',
        });
      }
      const headers: Record<string, string | string[]> = {};
      const grouped: Record<string, string[]> = {};
      for (const [name, value] of message.headers) {
        const key = name.toLowerCase();
        grouped[key] = [...(grouped[key] ?? []), value];
      }
      // RFC 9110 §7.6.1: connection-specific headers are the connection's, never the module's to set.
      for (const [name, value] of Object.entries(stripHopByHop(grouped))) {
        if (name !== 'host' && name !== 'content-length') headers[name] = value;
      }
      const body = message.body ? Buffer.from(message.body) : undefined;
      if (message.sign) {
        if (!options.signingSecret) {
          throw Object.assign(new Error('This business has no signing secret for signed requests.'), {
            code: 'ERR_NO_SIGNING_SECRET',
          });
        }
        signer ??= createSigner(options.signingSecret());
        for (const name of SIGNATURE_HEADERS) delete headers[name];
        const id = `msg_${randomUUID()}`;
        const timestamp = Math.floor(Date.now() / 1000);
        headers['webhook-id'] = id;
        headers['webhook-timestamp'] = String(timestamp);
        headers['webhook-signature'] = signer(id, timestamp, body?.toString('utf8') ?? '');
      }
      const response = await dispatcher.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: message.method as Dispatcher.HttpMethod,
        headers,
        body: body ?? null,
        signal: controller.signal,
      });
      const bytes = await readCapped(response.body as AsyncIterable<Buffer>, maxResponseBytes);
      const responseHeaders: [string, string][] = [];
      for (const [name, value] of Object.entries(response.headers)) {
        if (Array.isArray(value)) for (const v of value) responseHeaders.push([name, v]);
        else if (value !== undefined) responseHeaders.push([name, value]);
      }
      reply({
        status: response.statusCode,
        statusText: '',
        headers: responseHeaders,
        body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      });
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      reply({
        error: {
          code: typeof e.code === 'string' ? e.code : undefined,
          message: typeof e.message === 'string' ? e.message : String(err),
        },
      });
    }
  }

  function call(
    op: Operation,
    ctx: AdapterContext,
    request?: Record<string, unknown>,
    idempotencyKey?: string,
  ): Promise<AdapterResult> {
    if (closed) return Promise.reject(new AdapterError('ADAPTER_ERROR', 'Adapter module is closed.'));
    if (ctx.signal?.aborted) {
      return Promise.reject(new AdapterError('ADAPTER_ERROR', 'Adapter call aborted.'));
    }
    current ??= start();
    const slot = current;
    const id = nextId++;
    return new Promise<AdapterResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        const timedOut = ctx.signal?.reason instanceof Error && ctx.signal.reason.name === 'TimeoutError';
        settle();
        if (!slot.dead) slot.worker.postMessage({ type: 'cancel', id });
        reject(
          new AdapterError(
            timedOut ? 'ADAPTER_TIMEOUT' : 'ADAPTER_ERROR',
            timedOut ? 'Adapter module did not answer in time.' : 'Adapter call aborted.',
            undefined,
            { mayHaveActed: pending.fetched },
          ),
        );
      };
      const settle = () => {
        clearTimeout(timer);
        ctx.signal?.removeEventListener('abort', onAbort);
        pending.controller?.abort();
        slot.calls.delete(id);
        if (slot.calls.size === 0 && !slot.dead) slot.worker.unref();
      };
      const pending: PendingCall = {
        fetched: false,
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      };
      if (slot.calls.size === 0) slot.worker.ref();
      slot.calls.set(id, pending);
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => {
        slot.calls.delete(id);
        pending.reject(
          new AdapterError('ADAPTER_TIMEOUT', 'Adapter module did not answer in time.', undefined, {
            mayHaveActed: pending.fetched,
          }),
        );
        // A busy loop never yields, so only terminate() stops it. The adapter's other calls in flight
        // fail with it (ADAPTER_ERROR); the next call starts a fresh worker.
        retire(slot, 'was stopped after a call exceeded its time limit');
      }, timeoutMs);
      const message = {
        type: 'call',
        id,
        op,
        request,
        options: idempotencyKey === undefined ? {} : { idempotencyKey },
        // Only JSON-safe fields cross the thread boundary; the signal and fetch are made in the worker.
        ctx: {
          businessId: ctx.businessId,
          transactionId: ctx.transactionId,
          requestId: ctx.requestId,
          headers: ctx.headers,
          ...(ctx.trace ? traceContextHeaders(ctx.trace.context) : {}),
        } satisfies Omit<ModuleCallContext, 'signal' | 'fetch'>,
      };
      try {
        slot.worker.postMessage(message);
      } catch {
        pending.reject(new AdapterError('ADAPTER_ERROR', 'The request is not JSON-safe data.'));
      }
    });
  }

  return {
    discover: (ctx) => call('discover', ctx),
    query: (request, ctx) => call('query', ctx, request),
    execute: (request, { idempotencyKey }, ctx) => call('execute', ctx, request, idempotencyKey),
    async close() {
      closed = true;
      if (current) retire(current, 'is closed');
    },
  };
}
