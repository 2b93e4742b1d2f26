/**
 * Every error code the gateway answers with and its status (DESIGN §3). The OpenAPI document
 * is generated from this table so documentation and behaviour cannot drift.
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  BUSINESS_NOT_FOUND: 400,
  UNAUTHORIZED: 401,
  /**
   * The operator API (`/v1/admin/*`) was called on a gateway started without WARDEN_ADMIN_TOKEN: no
   * credential can open it, and the answer says how to enable it. 401 like any missing credential
   * (DESIGN §3): the caller is not authenticated, whatever it sent.
   */
  OPERATOR_API_DISABLED: 401,
  FORBIDDEN: 403,
  CONFIRMATION_REQUIRED: 403,
  CONFIRMATION_UNVERIFIABLE: 403,
  CONFIRMATION_INVALID: 403,
  CONFIRMATION_EXPIRED: 403,
  CONFIRMATION_MISMATCH: 403,
  AMOUNT_LIMIT_EXCEEDED: 403,
  POLICY_REJECTED: 403,
  WORKSPACE_ARCHIVED: 403,
  BUSINESS_SUSPENDED: 403,
  NOT_FOUND: 404,
  TRANSACTION_NOT_FOUND: 404,
  RECEIPT_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  LAST_ADMIN: 409,
  WORKSPACE_NOT_ARCHIVED: 409,
  INVITE_USED: 410,
  INVITE_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  ADAPTER_ERROR: 502,
  SERVICE_UNAVAILABLE: 503,
  /** The database cannot be reached (DESIGN §8): nothing was half-written; repeat, with Retry-After. */
  DATABASE_UNAVAILABLE: 503,
  /**
   * The business's circuit breaker is open (issue 12), or its calls in flight stayed at
   * ADAPTER_MAX_CONCURRENCY for ADAPTER_QUEUE_TIMEOUT_MS (issue 18): nothing sent, with Retry-After.
   */
  ADAPTER_UNAVAILABLE: 503,
  ADAPTER_TIMEOUT: 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The one error type services throw; routes and `onError` map it through ERROR_STATUS. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers;
  }
  readonly headers: Record<string, string> | undefined;

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}

export interface ErrorBody {
  error: string;
  code: ErrorCode;
  requestId: string;
  details?: unknown;
}

/** The one place the error envelope of DESIGN §3 is built. */
export function errorBody(error: GatewayError, requestId: string): ErrorBody {
  return { ...storedError(error).body, requestId };
}

/**
 * A refusal as an idempotent replay keeps it: status and envelope without the request id (each
 * answer carries the id of the request it answers).
 */
export function storedError(error: GatewayError): { status: number; body: Omit<ErrorBody, 'requestId'> } {
  const body: Omit<ErrorBody, 'requestId'> = { error: error.message, code: error.code };
  if (error.details !== undefined) body.details = error.details;
  return { status: error.status, body };
}
