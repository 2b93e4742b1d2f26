import { backoffMs, RETRY_DEFAULTS, type RetryOptions, sleep } from './backoff.ts';
import { errorFor, WardenNetworkError } from './errors.ts';
import type { ErrorBody } from './types.ts';

/** One answer of the gateway: its status, JSON body and headers. */
export interface Reply {
  status: number;
  body: unknown;
  headers: Headers;
}

export interface TransportOptions {
  baseUrl: string;
  agentKey: string;
  fetch: typeof fetch;
  retry: Required<RetryOptions>;
  /** Each attempt's limit in ms; a slower answer counts as no answer. */
  timeoutMs: number;
}

export interface SendOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export const isErrorBody = (body: unknown): body is ErrorBody =>
  typeof body === 'object' && body !== null && typeof (body as ErrorBody).code === 'string';

export const retryAfterOf = (headers: Headers): number | undefined => {
  const value = Number(headers.get('Retry-After'));
  return Number.isFinite(value) && value > 0 ? value : undefined;
};

/** The per-attempt signal: the caller's, and the attempt's time limit. */
function attemptSignal(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  if (!signal) return timeout;
  // Runtimes without AbortSignal.any (older Safari) keep the caller's signal and lose the time limit.
  return typeof AbortSignal.any === 'function' ? AbortSignal.any([signal, timeout]) : signal;
}

/**
 * One HTTP exchange with the gateway, no retry: JSON in and out, the agent key as a bearer token.
 * No answer (a network error, the attempt's time limit, a body that is not JSON) is a
 * `WardenNetworkError`; the caller's abort is rethrown as its reason.
 */
export async function exchange(
  t: TransportOptions,
  method: 'GET' | 'POST',
  path: string,
  options: SendOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${t.agentKey}`,
    Accept: 'application/json',
    ...options.headers,
  };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await t.fetch(`${t.baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: attemptSignal(t.timeoutMs, options.signal),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      throw new WardenNetworkError(`${method} ${path}: the answer (${res.status}) is not JSON.`);
    }
    return { status: res.status, body, headers: res.headers };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (error instanceof WardenNetworkError) throw error;
    throw new WardenNetworkError(`${method} ${path}: no answer from the gateway (${describe(error)}).`, {
      cause: error,
    });
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/**
 * A call without side effects on a business (discover, query, prepare, status, reads): repeated
 * on no answer, 429 and 5xx, with backoff (Retry-After when sent). Resolves with a 2xx answer;
 * a refusal is thrown as its typed `WardenError`.
 */
export async function send(
  t: TransportOptions,
  method: 'GET' | 'POST',
  path: string,
  options: SendOptions = {},
): Promise<Reply> {
  for (let attempt = 0; ; attempt++) {
    const last = attempt + 1 >= t.retry.attempts;
    let reply: Reply;
    try {
      reply = await exchange(t, method, path, options);
    } catch (error) {
      if (!(error instanceof WardenNetworkError) || last) throw error;
      await sleep(backoffMs(t.retry, attempt), options.signal);
      continue;
    }
    if (reply.status < 300) return reply;
    const retryable = reply.status === 429 || reply.status >= 500;
    if (!retryable || last) throw refusal(reply);
    await sleep(backoffMs(t.retry, attempt, retryAfterOf(reply.headers)), options.signal);
  }
}

/** The typed error of a non-2xx answer. */
export function refusal(reply: Reply): Error {
  if (!isErrorBody(reply.body))
    return new WardenNetworkError(`The gateway answered ${reply.status} without an error envelope.`);
  return errorFor(reply.status, reply.body, retryAfterOf(reply.headers));
}

export const withRetryDefaults = (retry: RetryOptions = {}): Required<RetryOptions> => ({
  ...RETRY_DEFAULTS,
  ...retry,
});
