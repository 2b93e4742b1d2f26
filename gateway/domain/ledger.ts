/** The ledger: every proposal is a transaction row (DESIGN §9), with its spend and its answers. */

export type Operation = 'discover' | 'query' | 'execute' | 'evaluate';

/**
 * `pending` is admitted and at the business (or about to be); `pending_approval` and `queued` are
 * parked; `unknown` was sent but never answered (DESIGN §4 "Outcome unknown": its reservation keeps
 * counting until a repeat or an admin settles it); `approved` is an evaluation allowed (at once or by
 * its approvers) whose caller has not yet reported what it executed (DESIGN §5); the rest are final.
 */
export type TransactionStatus =
  | 'pending'
  | 'approved'
  | 'unknown'
  | 'succeeded'
  | 'failed'
  | 'pending_confirmation'
  | 'pending_approval'
  | 'queued'
  | 'rejected'
  | 'expired';

export const TRANSACTION_STATUSES: readonly TransactionStatus[] = [
  'pending',
  'approved',
  'unknown',
  'succeeded',
  'failed',
  'pending_confirmation',
  'pending_approval',
  'queued',
  'rejected',
  'expired',
];

/** Two-phase spend (DESIGN §6): reserved on admission, then posted or voided exactly once. */
export type SpendState = 'none' | 'pending' | 'posted' | 'voided';

export interface TransactionError {
  code: string;
  message: string;
  upstreamStatus?: number;
}

/** Who asked over MCP (issue 13): the client from `initialize`, the session, the tool, the JSON-RPC id. */
export interface McpTrace {
  client: { name: string; version: string } | null;
  sessionId: string | null;
  tool: string;
  requestId: string | number | null;
}

/**
 * W3C Trace Context (issue 24) as a request's span had it: what an approved or queued execute's later
 * forward continues, so the business's `traceparent` is in the agent's trace.
 */
export interface StoredTraceContext {
  traceparent: string;
  tracestate?: string;
}

export interface Transaction {
  id: string;
  workspaceId: string;
  agentKeyId: string;
  agentId: string;
  /** Null for an evaluation: its caller executes itself (DESIGN §5). */
  businessId: string | null;
  operation: Operation;
  status: TransactionStatus;
  request: Record<string, unknown>;
  requestHash: string;
  amount: number | null;
  currency: string | null;
  data: unknown;
  error: TransactionError | null;
  decision: unknown;
  policyVersionId: string | null;
  /** The policy that decided it (the key's, else `default`). */
  policyName: string | null;
  businessCategory: string | null;
  spendState: SpendState;
  releaseAt: number | null;
  approvalId: string | null;
  idempotencyKey: string | null;
  requestId: string | null;
  /** An evaluation's `webhook_url` (DESIGN §5): where approval_required and terminal_outcome go. */
  callbackUrl: string | null;
  /** Issue 13: the MCP call that made it; null when it came over REST. */
  mcp: McpTrace | null;
  /**
   * Issue 14: the price of this proposal's policy evaluation (the agent's price, else the workspace
   * default), in micros, snapshotted when it was admitted; null when it was not (refused, a read).
   */
  costMicros: number | null;
  /** Issue 24: the W3C trace id of the request that made it (the agent's `traceparent`, or its own span). */
  traceId: string | null;
  /** Issue 24: the request span's context; null when the request was not traced. */
  traceContext: StoredTraceContext | null;
  /** Issue 22: the OAuth client acting as the agent (its client_id); null for an agent key. */
  oauthClientId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** An answer as an idempotent replay returns it: the status and the body (without a request id). */
export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface ConfirmationToken {
  tokenHash: string;
  workspaceId: string;
  agentKeyId: string;
  businessId: string;
  requestHash: string;
  summary: string;
  createdAt: number;
  expiresAt: number;
}

/** An idempotency record; `response` is absent while the first request runs or its outcome is unknown. */
export interface IdempotencyRecord {
  agentKeyId: string;
  key: string;
  requestHash: string;
  transactionId: string;
  response: StoredResponse | null;
  createdAt: number;
  expiresAt: number;
}

export interface TransactionFilter {
  status?: TransactionStatus;
  operation?: Operation;
  businessId?: string;
  agentId?: string;
  from?: number;
  to?: number;
  /** Amount bounds in minor units, inclusive (the console's filters, issue 14). */
  amountMin?: number;
  amountMax?: number;
  /** The id to continue after (ids are time-ordered ULIDs; newest first). */
  cursor?: string;
  limit: number;
}

/** A spending-limit window (DESIGN §6): everything the workspace spent or reserved since `since`. */
export interface SpendWindow {
  /** Epoch ms; counted from the start of its minute (spend is kept per minute). */
  since: number;
  categories?: readonly string[];
  currency: string;
}

export interface SpendTotals {
  /** Reserved: admitted and not finished (executing, parked, unknown). */
  pending: number;
  /** Spent: the business executed. */
  posted: number;
}

export interface SummaryRow {
  key: string;
  count: number;
  amount: number;
}

/** What a new transaction must say; everything else starts empty (pending, nothing reserved). */
export type TransactionDraft = Pick<
  Transaction,
  | 'id'
  | 'workspaceId'
  | 'agentKeyId'
  | 'agentId'
  | 'businessId'
  | 'operation'
  | 'request'
  | 'requestHash'
  | 'createdAt'
> &
  Partial<Transaction>;

export function draftTransaction(d: TransactionDraft): Transaction {
  return {
    status: 'pending',
    amount: null,
    currency: null,
    data: null,
    error: null,
    decision: null,
    policyVersionId: null,
    policyName: null,
    businessCategory: null,
    spendState: 'none',
    releaseAt: null,
    approvalId: null,
    idempotencyKey: null,
    requestId: null,
    callbackUrl: null,
    mcp: null,
    costMicros: null,
    traceId: null,
    traceContext: null,
    oauthClientId: null,
    updatedAt: d.createdAt,
    ...d,
  };
}
