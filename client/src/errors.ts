import type { ErrorBody, ErrorCode } from './types.ts';

/**
 * Typed errors: every refusal of the gateway is a `WardenError` carrying its `code` (DESIGN-level
 * contract: `{error, code, requestId, details?}`), with a subclass for the refusals an agent handles
 * differently. `instanceof` or `code` both work.
 */
export class WardenError extends Error {
  override name = 'WardenError';
  readonly status: number;
  readonly code: ErrorCode;
  readonly requestId: string | undefined;
  readonly details: unknown;
  constructor(status: number, body: ErrorBody) {
    super(`${body.code}: ${body.error}`);
    this.status = status;
    this.code = body.code;
    this.requestId = body.requestId;
    this.details = body.details;
  }
}

const CONFIRMATION_CODES: ReadonlySet<string> = new Set([
  'CONFIRMATION_REQUIRED',
  'CONFIRMATION_UNVERIFIABLE',
  'CONFIRMATION_INVALID',
  'CONFIRMATION_EXPIRED',
  'CONFIRMATION_MISMATCH',
  'AMOUNT_LIMIT_EXCEEDED',
]);

/** The execute mode refused it (confirm or strict): a missing, stale or mismatched token, or the ceiling. */
export class ConfirmationError extends WardenError {
  override name = 'ConfirmationError';
}

export interface PolicyRefusal {
  ruleId?: string | null;
  reason?: string;
  checks?: unknown;
}

/** The workspace policy refused it (403 POLICY_REJECTED); `details` names the rule. */
export class PolicyRejectedError extends WardenError {
  override name = 'PolicyRejectedError';
  override readonly details: PolicyRefusal;
  constructor(status: number, body: ErrorBody) {
    super(status, body);
    this.details = (body.details ?? {}) as PolicyRefusal;
  }
}

/** 429: the agent key's rate limit; `retryAfterSeconds` from Retry-After. */
export class RateLimitedError extends WardenError {
  override name = 'RateLimitedError';
  retryAfterSeconds: number | undefined;
}

/** The error for a gateway answer: the subclass its code calls for. */
export function errorFor(status: number, body: ErrorBody, retryAfter?: number): WardenError {
  if (body.code === 'POLICY_REJECTED') return new PolicyRejectedError(status, body);
  if (CONFIRMATION_CODES.has(body.code)) return new ConfirmationError(status, body);
  if (body.code === 'RATE_LIMITED') {
    const error = new RateLimitedError(status, body);
    error.retryAfterSeconds = retryAfter;
    return error;
  }
  return new WardenError(status, body);
}

/** The gateway could not be reached, or its answer was not the JSON the API documents. */
export class WardenNetworkError extends Error {
  override name = 'WardenNetworkError';
}

/**
 * An execute whose outcome nobody knows yet: the business may or may not have acted (a 502/504
 * whose `details.status` is `unknown`, or no answer at all after the request left). Repeat
 * `execute` with the same body and `idempotencyKey` to settle it; never with a new key, which could
 * act twice.
 */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
  constructor(
    message: string,
    readonly idempotencyKey: string,
    /** Known when the gateway answered; null when no answer came back at all. */
    readonly transactionId: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
