import { backoffMs, type RetryOptions, sleep } from './backoff.ts';
import { ConfirmationError, OutcomeUnknownError, WardenNetworkError } from './errors.ts';
import {
  exchange,
  isErrorBody,
  type Reply,
  refusal,
  retryAfterOf,
  send,
  type TransportOptions,
  withRetryDefaults,
} from './http.ts';
import {
  type ConsistencyCheck,
  checkConsistencyWith,
  jwksResolver,
  type KeyResolver,
  type ReceiptVerification,
  type VerifyReceiptInput,
  verifyReceiptWith,
} from './receipts.ts';
import type {
  BusinessesAnswer,
  BusinessesQuery,
  CheckpointAnswer,
  ConsistencyAnswer,
  DiscoverAnswer,
  ExecuteBody,
  ExecutedAnswer,
  JwkSet,
  ParkedAnswer,
  PrepareAnswer,
  QueryAnswer,
  QueryBody,
  ReceiptAnswer,
  StatusAnswer,
  TransactionStatus,
} from './types.ts';

/** When `execute` fetches a confirmation token itself (confirm and strict modes). */
export type AutoPrepare = 'always' | 'when-required' | false;

export interface WardenClientOptions {
  /** The gateway, e.g. `https://warden.example` (a path prefix is kept). */
  baseUrl: string | URL;
  /** The agent key (`wk_…`). */
  agentKey: string;
  /** A fetch to use instead of the global one (a test double, a proxy-aware one, an edge runtime's). */
  fetch?: typeof fetch;
  /** Repeats on no answer, 409 in flight, 429 and 5xx. */
  retry?: RetryOptions;
  /**
   * `always`: prepare before every execute; `when-required`: execute, and on 403
   * CONFIRMATION_REQUIRED prepare and send it again; false (default): never, the caller passes
   * `confirmationToken` (or the gateway runs in open mode).
   */
  autoPrepare?: AutoPrepare;
  /** Each attempt's time limit in ms (default 60 000, above the gateway's ADAPTER_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Makes Idempotency-Keys (default `crypto.randomUUID()`). */
  idempotencyKey?: () => string;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** The first delay between polls in ms (default 1000); it doubles up to `maxIntervalMs`. */
  intervalMs?: number;
  /** The longest delay between polls in ms (default 30 000). */
  maxIntervalMs?: number;
}

export interface ExecuteOptions {
  /** The key of a earlier attempt, to settle its unknown outcome; a fresh one by default. */
  idempotencyKey?: string;
  /** A token from `prepare`, for confirm and strict modes. */
  confirmationToken?: string;
  /** Overrides the client's `autoPrepare` for this call. */
  autoPrepare?: AutoPrepare;
  signal?: AbortSignal;
}

interface Sent {
  /** The Idempotency-Key every attempt carried: repeat with it, never another, to settle. */
  idempotencyKey: string;
  /** The answer is a replay of an earlier request with the same key (`Idempotent-Replayed`). */
  replayed: boolean;
}
/** The business answered: 200 with `status` succeeded, failed or pending_confirmation. */
export type Executed = ExecutedAnswer & Sent & { outcome: 'executed' };
/** Parked (202): waiting for people to approve, or for a time window. */
export type Parked = ParkedAnswer & Sent & { outcome: 'parked' };
/** A parked execute after its wait: approved and run, rejected or expired (`status`). */
export type Decided = StatusAnswer & Sent & { outcome: 'decided' };

/** Statuses a transaction leaves on its own: parked, or admitted and not yet answered. */
const WAITING: ReadonlySet<TransactionStatus> = new Set(['pending_approval', 'queued', 'pending']);

/**
 * The agent's client of a Warden gateway (the agent API, docs/client.md): fetch and Web Crypto
 * only, so it runs in Node 20+, browsers and edge runtimes alike.
 */
export class WardenClient {
  readonly #t: TransportOptions;
  readonly #autoPrepare: AutoPrepare;
  readonly #newKey: () => string;
  readonly #keys: KeyResolver;

  constructor(options: WardenClientOptions) {
    this.#t = {
      baseUrl: String(options.baseUrl).replace(/\/+$/, ''),
      agentKey: options.agentKey,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      retry: withRetryDefaults(options.retry),
      timeoutMs: options.timeoutMs ?? 60_000,
    };
    this.#autoPrepare = options.autoPrepare ?? false;
    this.#newKey = options.idempotencyKey ?? randomKey;
    this.#keys = jwksResolver(() => this.keys());
  }

  /** POST /agp/discover: what a business offers. */
  async discover(businessId: string, options: { signal?: AbortSignal } = {}): Promise<DiscoverAnswer> {
    const reply = await send(this.#t, 'POST', '/agp/discover', {
      body: { businessId },
      signal: options.signal,
    });
    return reply.body as DiscoverAnswer;
  }

  /** POST /agp/query: ask a business, without side effects. */
  async query(body: QueryBody, options: { signal?: AbortSignal } = {}): Promise<QueryAnswer> {
    return (await send(this.#t, 'POST', '/agp/query', { body, signal: options.signal })).body as QueryAnswer;
  }

  /** GET /agp/businesses: the directory. */
  async businesses(
    query: BusinessesQuery = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<BusinessesAnswer> {
    const params = new URLSearchParams(
      Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const search = params.toString();
    const path = `/agp/businesses${search ? `?${search}` : ''}`;
    return (await send(this.#t, 'GET', path, { signal: options.signal })).body as BusinessesAnswer;
  }

  /** POST /agp/execute/prepare: a single-use confirmation token bound to this business and request. */
  async prepare(body: ExecuteBody, options: { signal?: AbortSignal } = {}): Promise<PrepareAnswer> {
    return (await send(this.#t, 'POST', '/agp/execute/prepare', { body, signal: options.signal }))
      .body as PrepareAnswer;
  }

  /**
   * POST /agp/execute, exactly once whatever fails in between. Every attempt carries the same
   * Idempotency-Key and body: no answer, 409 IDEMPOTENCY_IN_PROGRESS, 429 and 5xx are repeated with
   * backoff (a repeat is replayed or joins the first, never run twice); an unknown outcome (502/504
   * with `details.status` `unknown`) is repeated too, which forwards it again with the same key and
   * settles it. Attempts exhausted on an unknown outcome throw `OutcomeUnknownError`, naming the key
   * to repeat with later. A refusal throws its typed `WardenError`.
   */
  async execute(body: ExecuteBody, options: ExecuteOptions = {}): Promise<Executed | Parked> {
    const idempotencyKey = options.idempotencyKey ?? this.#newKey();
    const auto = options.autoPrepare ?? this.#autoPrepare;
    let token = options.confirmationToken;
    if (token === undefined && auto === 'always')
      token = (await this.prepare(body, options)).confirmationToken;
    try {
      return await this.#executeWithKey(body, idempotencyKey, token, options.signal);
    } catch (error) {
      const required = error instanceof ConfirmationError && error.code === 'CONFIRMATION_REQUIRED';
      if (!(required && auto === 'when-required' && token === undefined)) throw error;
      // Refused before the key was claimed: the same key goes again, now with a token.
      token = (await this.prepare(body, options)).confirmationToken;
      return this.#executeWithKey(body, idempotencyKey, token, options.signal);
    }
  }

  /**
   * `execute`, then, when it is parked, `waitForDecision`. An approved execute whose forward ended
   * unknown is settled by repeating it with its key, as the gateway asks.
   */
  async executeAndWait(
    body: ExecuteBody,
    options: ExecuteOptions & WaitOptions = {},
  ): Promise<Executed | Decided> {
    const first = await this.execute(body, options);
    if (first.outcome === 'executed') return first;
    const decided = await this.waitForDecision(first.transactionId, options);
    const sent = { idempotencyKey: first.idempotencyKey, replayed: false };
    if (decided.status !== 'unknown') return { ...decided, ...sent, outcome: 'decided' };
    const settled = await this.#executeWithKey(
      body,
      first.idempotencyKey,
      options.confirmationToken,
      options.signal,
    );
    if (settled.outcome === 'executed') return settled;
    return { ...(await this.status(settled.transactionId)), ...sent, outcome: 'decided' };
  }

  async #executeWithKey(
    body: ExecuteBody,
    idempotencyKey: string,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Executed | Parked> {
    const headers: Record<string, string> = { 'Idempotency-Key': idempotencyKey };
    if (token !== undefined) headers['X-Confirmation-Token'] = token;
    const { retry } = this.#t;
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= retry.attempts;
      let reply: Reply;
      try {
        reply = await exchange(this.#t, 'POST', '/agp/execute', { body, headers, signal });
      } catch (error) {
        if (!(error instanceof WardenNetworkError)) throw error;
        // The request may have arrived and run: only the same key may go again.
        if (last) {
          throw new OutcomeUnknownError(
            `No answer to the execute after ${retry.attempts} attempts: it may have run. Repeat it with Idempotency-Key ${idempotencyKey}.`,
            idempotencyKey,
            null,
            { cause: error },
          );
        }
        await sleep(backoffMs(retry, attempt), signal);
        continue;
      }
      const replayed = reply.headers.get('Idempotent-Replayed') === 'true';
      const sent = { idempotencyKey, replayed };
      if (reply.status === 200) return { ...(reply.body as ExecutedAnswer), ...sent, outcome: 'executed' };
      if (reply.status === 202) return { ...(reply.body as ParkedAnswer), ...sent, outcome: 'parked' };
      const unknown = unknownOutcome(reply);
      if (unknown && last) {
        throw new OutcomeUnknownError(
          `The business may or may not have acted on ${unknown.transactionId}: repeat the execute with Idempotency-Key ${idempotencyKey} to settle it.`,
          idempotencyKey,
          unknown.transactionId,
          { cause: refusal(reply) },
        );
      }
      const code = isErrorBody(reply.body) ? reply.body.code : undefined;
      // A replayed answer is the key's final one: repeating it again changes nothing.
      const retryable =
        unknown !== undefined ||
        (!replayed && (code === 'IDEMPOTENCY_IN_PROGRESS' || reply.status === 429 || reply.status >= 500));
      if (!retryable || last) throw refusal(reply);
      await sleep(backoffMs(retry, attempt, retryAfterOf(reply.headers)), signal);
    }
  }

  /** GET /agp/status/:id: where a transaction stands. */
  async status(transactionId: string, options: { signal?: AbortSignal } = {}): Promise<StatusAnswer> {
    const path = `/agp/status/${encodeURIComponent(transactionId)}`;
    return (await send(this.#t, 'GET', path, { signal: options.signal })).body as StatusAnswer;
  }

  /**
   * Polls a parked execute (backing off from `intervalMs` to `maxIntervalMs`) until it leaves
   * `pending_approval`, `queued` and `pending`: approved and run (`succeeded`, `failed`, …),
   * `rejected` or `expired`. Rejects with the signal's reason when it aborts.
   */
  async waitForDecision(transactionId: string, options: WaitOptions = {}): Promise<StatusAnswer> {
    const max = options.maxIntervalMs ?? 30_000;
    for (let wait = options.intervalMs ?? 1000; ; wait = Math.min(wait * 2, max)) {
      const answer = await this.status(transactionId, { signal: options.signal });
      if (!WAITING.has(answer.status)) return answer;
      await sleep(wait, options.signal);
    }
  }

  /** GET /agp/receipts/:id: the signed receipt and its place in the ledger log (null until appended). */
  async receipt(transactionId: string, options: { signal?: AbortSignal } = {}): Promise<ReceiptAnswer> {
    const path = `/agp/receipts/${encodeURIComponent(transactionId)}`;
    return (await send(this.#t, 'GET', path, { signal: options.signal })).body as ReceiptAnswer;
  }

  /** GET /agp/ledger/checkpoint: the newest signed checkpoint of the workspace's log, or the one at `size`. */
  async checkpoint(size?: number, options: { signal?: AbortSignal } = {}): Promise<CheckpointAnswer> {
    const path = `/agp/ledger/checkpoint${size === undefined ? '' : `?size=${size}`}`;
    return (await send(this.#t, 'GET', path, { signal: options.signal })).body as CheckpointAnswer;
  }

  /** GET /agp/ledger/consistency: the RFC 9162 proof that the tree of `to` entries extends that of `from`. */
  async consistency(
    from: number,
    to: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<ConsistencyAnswer> {
    const path = `/agp/ledger/consistency?from=${from}&to=${to}`;
    return (await send(this.#t, 'GET', path, { signal: options.signal })).body as ConsistencyAnswer;
  }

  /**
   * Holds the gateway to a checkpoint kept earlier (the compact JWS): fetches the newest one (or the
   * one at `to`) and the consistency proof between them, and checks both signatures and the proof
   * here. `consistent` false means the log no longer holds, unchanged and in order, what was signed.
   */
  async verifyConsistency(
    kept: string,
    options: { to?: number; signal?: AbortSignal } = {},
  ): Promise<ConsistencyCheck> {
    const newer = await this.checkpoint(options.to, { signal: options.signal });
    const newest = newer.payload.size;
    const keptSize = checkpointSize(kept);
    if (keptSize === undefined || keptSize > newest) {
      return checkConsistencyWith(this.#keys, kept, newer.checkpoint, []);
    }
    const { proof } = await this.consistency(keptSize, newest, { signal: options.signal });
    return checkConsistencyWith(this.#keys, kept, newer.checkpoint, proof);
  }

  /** GET /.well-known/warden-keys: the receipt signing keys (current and retired). */
  async keys(options: { signal?: AbortSignal } = {}): Promise<JwkSet> {
    return (await send(this.#t, 'GET', '/.well-known/warden-keys', { signal: options.signal }))
      .body as JwkSet;
  }

  /**
   * Verifies a receipt against the gateway's JWK Set, and its inclusion in the ledger log under a
   * signed checkpoint (RFC 9162), checked here. Given a transaction id, it fetches the receipt and
   * its log place first; `request` (the request sent) is checked against the signed `requestHash`.
   */
  async verifyReceipt(
    target: string | VerifyReceiptInput,
    options: Omit<VerifyReceiptInput, 'receipt' | 'log'> = {},
  ): Promise<ReceiptVerification> {
    if (typeof target !== 'string') return verifyReceiptWith(this.#keys, { ...options, ...target });
    const { receipt, log, transactionId } = await this.receipt(target);
    return verifyReceiptWith(this.#keys, { transactionId, ...options, receipt, log });
  }
}

/**
 * A random UUID (v4) for an Idempotency-Key: `crypto.randomUUID` where it exists, else built from
 * `getRandomValues`, which pages outside a secure context have too.
 */
function randomKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The size a checkpoint claims (read unverified, to ask for the proof; the check verifies it). */
function checkpointSize(jws: string): number | undefined {
  try {
    const body = (jws.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
    const size = (JSON.parse(atob(body)) as { size?: unknown }).size;
    return typeof size === 'number' && Number.isSafeInteger(size) && size > 0 ? size : undefined;
  } catch {
    return undefined;
  }
}

/** The transaction of a 502/504 whose outcome is unknown (DESIGN: repeat with the same key). */
function unknownOutcome(reply: Reply): { transactionId: string } | undefined {
  if (!isErrorBody(reply.body) || (reply.status !== 502 && reply.status !== 504)) return undefined;
  const details = reply.body.details as { status?: unknown; transactionId?: unknown } | undefined;
  if (details?.status !== 'unknown' || typeof details.transactionId !== 'string') return undefined;
  return { transactionId: details.transactionId };
}
