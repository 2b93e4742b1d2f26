import type { AdapterConfig } from '../../adapters/types.ts';

/**
 * The store contract. Every write is a single conditional statement or one short transaction
 * (update/delete … returning, insert … on conflict), never select-then-write, so the same contract
 * holds on SQLite and PostgreSQL and across replicas (DESIGN §8).
 */

export type Role = 'admin' | 'developer' | 'approver';
export type Scope = 'discover' | 'query' | 'execute';
export type Operation = 'discover' | 'query' | 'execute';
/**
 * `pending` is admitted and at the business (or about to be); `pending_approval` and `queued` are
 * parked; `unknown` was sent but never answered (DESIGN §4 "Outcome unknown": its reservation keeps
 * counting until a retry or an admin settles it); the rest are final.
 */
export type TransactionStatus =
  | 'pending'
  | 'unknown'
  | 'succeeded'
  | 'failed'
  | 'pending_confirmation'
  | 'pending_approval'
  | 'queued'
  | 'rejected'
  | 'expired';

/** Two-phase spend (DESIGN §6): reserved on admission, then posted or voided exactly once. */
export type SpendState = 'none' | 'pending' | 'posted' | 'voided';

export interface Workspace {
  id: string;
  name: string;
  createdAt: number;
}

export interface Member {
  id: string;
  workspaceId: string;
  email: string;
  role: Role;
  tokenHash: string;
  createdAt: number;
}

export interface AgentKey {
  id: string;
  workspaceId: string;
  agentId: string;
  keyHash: string;
  keyPrefix: string;
  scopes: Scope[];
  policyName: string | null;
  createdBy: string | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface Business {
  id: string;
  name: string;
  category: string;
  description: string;
  adapter: AdapterConfig;
  signingSecret: string;
  createdAt: number;
}

export interface Transaction {
  id: string;
  workspaceId: string;
  agentKeyId: string;
  agentId: string;
  businessId: string;
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
  /** The policy whose limits this transaction counts against (the key's, else `default`). */
  policyName: string | null;
  businessCategory: string | null;
  spendState: SpendState;
  releaseAt: number | null;
  approvalId: string | null;
  idempotencyKey: string | null;
  requestId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface TransactionError {
  code: string;
  message: string;
  upstreamStatus?: number;
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

/** An idempotency record; `response` is absent while the first request is still running. */
export interface IdempotencyRecord {
  agentKeyId: string;
  key: string;
  requestHash: string;
  transactionId: string;
  response: StoredResponse | null;
  createdAt: number;
  expiresAt: number;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface AuditEvent {
  id: string;
  workspaceId: string | null;
  actorType: 'operator' | 'member' | 'agent' | 'system';
  actorId: string | null;
  action: string;
  target: string | null;
  data: Record<string, unknown>;
  createdAt: number;
}

/** What admission must consume: the token is deleted only if it still binds this exact request. */
export interface TokenClaim {
  tokenHash: string;
  agentKeyId: string;
  businessId: string;
  requestHash: string;
  now: number;
}

export interface IdempotencyClaim {
  agentKeyId: string;
  key: string;
  requestHash: string;
  expiresAt: number;
}

/** Reads available to a decision inside the serialised admission step. */
export interface AdmissionReader {
  /** Reserved + posted spend of this transaction's workspace in the window (DESIGN §6 "What counts"). */
  spend(window: SpendWindow): Promise<number>;
  /** No succeeded execute with this business in this workspace yet. */
  firstTimeBusiness(): Promise<boolean>;
}

export interface SpendWindow {
  /** Epoch ms; counted from the start of its minute (spend is kept per minute). */
  since: number;
  categories?: readonly string[];
  currency: string;
}

export interface SpendQuery extends SpendWindow {
  workspaceId: string;
  /** Leave this transaction's own reservation out (a queued request being released). */
  excludeTransactionId?: string;
}

/** How a decided execute enters the ledger. */
export type AdmissionPlan =
  | { outcome: 'forward'; decision: unknown }
  | {
      outcome: 'approval';
      decision: unknown;
      approvalId: string;
      stages: StagePlan[];
      response: StoredResponse;
    }
  | { outcome: 'queue'; decision: unknown; releaseAt: number; response: StoredResponse }
  | { outcome: 'reject'; decision: unknown; response: StoredResponse };

export interface AdmitInput {
  /** Its status is set from the plan: pending, pending_approval, queued or rejected. */
  transaction: Transaction;
  token?: TokenClaim;
  idempotency?: IdempotencyClaim;
  /** Decides inside the serialised step, with live spend; no policy means forward. */
  decide?: (reader: AdmissionReader) => Promise<AdmissionPlan>;
  audit?: AuditEvent;
}

export type AdmitResult =
  | { admitted: true; plan: AdmissionPlan }
  | { admitted: false; reason: 'rejected'; plan: Extract<AdmissionPlan, { outcome: 'reject' }> }
  | { admitted: false; reason: 'token_consumed' }
  | { admitted: false; reason: 'idempotency_conflict'; record: IdempotencyRecord };

export interface PolicyPointer {
  workspaceId: string;
  name: string;
  versionId: string;
  version: number;
  updatedAt: number;
}

export interface PolicyVersion {
  id: string;
  workspaceId: string;
  name: string;
  version: number;
  document: unknown;
  contentHash: string;
  createdBy: string | null;
  createdAt: number;
}

export interface TransactionFilter {
  status?: TransactionStatus;
  operation?: Operation;
  businessId?: string;
  agentId?: string;
  from?: number;
  to?: number;
  /** The id to continue after (ids are time-ordered ULIDs; newest first). */
  cursor?: string;
  limit: number;
}

export interface SpendTotals {
  pending: number;
  posted: number;
}

export interface SummaryRow {
  key: string;
  count: number;
  amount: number;
}

export interface FinishInput {
  transactionId: string;
  /**
   * Only a `pending` or `unknown` transaction finishes (a late answer settles an unknown one). Its
   * reservation is posted on success, kept when the outcome is `unknown`, voided otherwise.
   */
  status: TransactionStatus;
  data: unknown;
  error: TransactionError | null;
  at: number;
  /** The answer an idempotent replay will return (none for `unknown`: a replay forwards again). */
  idempotency?: { agentKeyId: string; key: string; response: StoredResponse };
}

export interface ResolveInput {
  workspaceId: string;
  transactionId: string;
  status: 'succeeded' | 'failed';
  error: TransactionError | null;
  at: number;
  /** The answer a later idempotent repeat replays. */
  response: StoredResponse;
  audit: AuditEvent;
}

export interface BusinessFilter {
  category?: string;
  q?: string;
}

export interface Store extends ApprovalStore {
  readonly dialect: 'sqlite' | 'postgres';
  ping(): Promise<void>;
  close(): Promise<void>;

  createWorkspace(workspace: Workspace, admin: Member, audit: AuditEvent): Promise<void>;
  countWorkspaces(): Promise<number>;
  /** False when the email is already a member of the workspace. */
  createMember(member: Member, audit: AuditEvent): Promise<boolean>;
  findMemberByTokenHash(tokenHash: string): Promise<Member | undefined>;

  createAgentKey(key: AgentKey, audit: AuditEvent): Promise<void>;
  findAgentKeyByHash(keyHash: string): Promise<AgentKey | undefined>;
  listAgentKeys(workspaceId: string): Promise<AgentKey[]>;
  /** True when this call revoked it (a second revoke, or another workspace's id, is false). */
  revokeAgentKey(workspaceId: string, id: string, at: number, audit: AuditEvent): Promise<boolean>;

  /** False when the id is taken. */
  createBusiness(business: Business, audit: AuditEvent): Promise<boolean>;
  getBusiness(id: string): Promise<Business | undefined>;
  listBusinesses(filter?: BusinessFilter): Promise<Business[]>;

  insertConfirmationToken(token: ConfirmationToken): Promise<void>;
  findConfirmationToken(tokenHash: string): Promise<ConfirmationToken | undefined>;
  /** Background sweep: tokens that expired before `before`. */
  sweepConfirmationTokens(before: number): Promise<number>;

  findIdempotencyRecord(agentKeyId: string, key: string): Promise<IdempotencyRecord | undefined>;
  sweepIdempotencyRecords(now: number): Promise<number>;

  /** A discover/query row, recorded before the adapter is called. */
  insertTransaction(transaction: Transaction): Promise<void>;
  /**
   * Admission of an execute in one atomic step: claim the idempotency key, consume the token,
   * record the transaction. Either all happen or none.
   */
  admitExecute(input: AdmitInput): Promise<AdmitResult>;
  /** Moves a pending transaction to its outcome and stores the idempotent answer, atomically. */
  finishTransaction(input: FinishInput): Promise<void>;
  getTransaction(workspaceId: string, id: string): Promise<Transaction | undefined>;
  listTransactions(workspaceId: string, filter: TransactionFilter): Promise<Transaction[]>;
  /** Queued transactions whose window opened by `now` (the release job). */
  dueQueuedTransactions(now: number, limit: number): Promise<Transaction[]>;
  /**
   * Releases one queued transaction in one serialised step: decide again with live spend (its own
   * reservation left out), then move it to pending, pending_approval, queued or rejected.
   * Undefined when it was not queued and due any more (another process released it).
   */
  releaseQueued(
    transactionId: string,
    now: number,
    decide: (reader: AdmissionReader, txn: Transaction) => Promise<AdmissionPlan>,
  ): Promise<{ transaction: Transaction; plan: AdmissionPlan } | undefined>;
  spendTotals(query: SpendQuery): Promise<SpendTotals>;
  summarize(
    workspaceId: string,
    since: number,
    by: 'business_id' | 'business_category' | 'agent_id',
  ): Promise<SummaryRow[]>;

  getPolicyPointer(workspaceId: string, name: string): Promise<PolicyPointer | undefined>;
  getPolicyVersion(workspaceId: string, versionId: string): Promise<PolicyVersion | undefined>;
  /** A new immutable version, unless the content equals the current one (then that one, created false). */
  putPolicyVersion(
    version: Omit<PolicyVersion, 'version'>,
    audit: AuditEvent,
  ): Promise<{ versionId: string; version: number; created: boolean }>;
  listPolicies(workspaceId: string): Promise<PolicyPointer[]>;
  listPolicyVersions(workspaceId: string, name: string): Promise<PolicyVersion[]>;
  /**
   * Pending transactions last touched before `before` were orphaned by a process that died
   * (DESIGN §4): executes become `unknown` (their reservations keep counting, a repeat with their
   * Idempotency-Key settles them); discover and query, which change nothing, fail with `readError`.
   */
  markOrphans(
    before: number,
    at: number,
    errors: { execute: TransactionError; read: TransactionError },
  ): Promise<{ unknown: number; failed: number }>;
  /** Takes an `unknown` execute back to `pending` to forward it again; undefined when another took it. */
  claimUnknown(workspaceId: string, transactionId: string, at: number): Promise<Transaction | undefined>;
  /** An admin settles an `unknown` execute (audited): false when it is not unknown (any more). */
  resolveUnknown(input: ResolveInput): Promise<boolean>;

  appendAudit(event: AuditEvent): Promise<void>;
  /** Newest first; `before` is an event id to continue after. */
  listAuditEvents(workspaceId: string, options: { limit: number; before?: string }): Promise<AuditEvent[]>;

  /**
   * Counts one request against `key` in the window starting at `windowStart` (epoch ms) and answers
   * the count including it: one upsert, so concurrent requests and replicas never lose a count.
   */
  countRequest(key: string, windowStart: number): Promise<number>;
  /** Background sweep: counters of windows that started before `before`. */
  sweepRateCounters(before: number): Promise<number>;
}

// ── approvals (DESIGN §5, §6) ────────────────────────────────────────────────

export interface StagePlan {
  index: number;
  role: Role;
  tier: 'standard' | 'critical_otp';
  quorum: number;
  timeoutSeconds: number;
  onTimeout: 'reject' | 'escalate_next';
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';
export type StageStatus = 'waiting' | 'pending' | 'approved' | 'rejected' | 'expired' | 'escalated';

export interface ApprovalStage extends StagePlan {
  position: number;
  status: StageStatus;
  activatedAt: number | null;
  deadlineAt: number | null;
  decidedAt: number | null;
}

export interface ApprovalVote {
  memberId: string;
  position: number;
  decision: 'approve' | 'reject';
  reason: string | null;
  via: 'api' | 'link';
  createdAt: number;
}

export interface Approval {
  id: string;
  workspaceId: string;
  transactionId: string;
  requestHash: string;
  status: ApprovalStatus;
  stages: ApprovalStage[];
  votes: ApprovalVote[];
  createdAt: number;
  updatedAt: number;
}

export interface VoteInput {
  workspaceId: string;
  approvalId: string;
  memberId: string;
  role: Role;
  decision: 'approve' | 'reject';
  reason?: string;
  via: 'api' | 'link';
  /** The stage this vote is for (a magic link names one); the active stage when left out. */
  position?: number;
  /** Critical-tier stages need a verified one-time code. */
  otpVerified: boolean;
  now: number;
  /** The audit event's id; it is written in the same transaction as the vote (DESIGN §9). */
  auditId: string;
}

export type VoteResult =
  | { outcome: 'not_found' }
  | { outcome: 'not_pending'; approval: Approval }
  | { outcome: 'wrong_role'; approval: Approval }
  | { outcome: 'otp_required'; approval: Approval }
  | { outcome: 'already_voted'; approval: Approval }
  | { outcome: 'recorded' | 'advanced' | 'rejected'; approval: Approval }
  /** The last stage approved: the transaction moved pending_approval → pending; execute it now. */
  | { outcome: 'approved'; approval: Approval; transaction: Transaction };

export interface DueStage {
  approvalId: string;
  position: number;
}

export type DeadlineResult =
  | { outcome: 'escalated'; approval: Approval }
  | { outcome: 'expired' | 'rejected'; approval: Approval };

export interface OutboxItem {
  id: string;
  workspaceId: string | null;
  kind: 'email' | 'webhook';
  targetId: string | null;
  payload: Record<string, unknown>;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface Webhook {
  id: string;
  workspaceId: string;
  url: string;
  events: string[];
  secret: string;
  createdAt: number;
  deletedAt: number | null;
}

export interface ApprovalStore {
  getApproval(workspaceId: string, id: string): Promise<Approval | undefined>;
  listApprovals(
    workspaceId: string,
    filter: { status?: ApprovalStatus; role?: Role; limit: number },
  ): Promise<Approval[]>;
  /** One serialised step: checks the active stage, records the vote, advances or ends the approval. */
  voteOnApproval(input: VoteInput): Promise<VoteResult>;
  dueStages(now: number, limit: number): Promise<DueStage[]>;
  /** Fires one stage deadline if it is still active and due (one conditional claim), audited with it. */
  fireDeadline(stage: DueStage, now: number, auditId: string): Promise<DeadlineResult | undefined>;

  createWebhook(webhook: Webhook, audit: AuditEvent): Promise<void>;
  listWebhooks(workspaceId: string): Promise<Webhook[]>;
  deleteWebhook(workspaceId: string, id: string, at: number, audit: AuditEvent): Promise<boolean>;

  /** Claims due outbox items for delivery: their next attempt moves `leaseMs` ahead so no one else takes them. */
  claimOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxItem[]>;
  completeOutbox(id: string, now: number): Promise<void>;
  /** A failed attempt: retried at `retryAt`, or failed for good when it is null. */
  failOutbox(id: string, error: string, now: number, retryAt: number | null): Promise<void>;
  listOutbox(targetId: string, limit: number): Promise<OutboxItem[]>;

  // ── magic links and one-time codes (DESIGN §5) ──
  /** A webhook by id, deleted ones included (their `deletedAt` set). */
  getWebhook(id: string): Promise<Webhook | undefined>;
  getMember(workspaceId: string, id: string): Promise<Member | undefined>;
  insertApprovalLink(link: ApprovalLink): Promise<void>;
  findApprovalLink(tokenHash: string): Promise<ApprovalLink | undefined>;
  /**
   * Stores a new code for a member's stage, replacing an earlier one but keeping its attempt count.
   * False (nothing stored) when the step is locked: `maxAttempts` tries were already used.
   */
  issueOtp(otp: OtpIssue, maxAttempts: number): Promise<boolean>;
  /**
   * Takes one try, in one conditional update: counts it and answers the stored hash, but only while
   * the code is unused, unexpired at `now` and fewer than `maxAttempts` tries were taken; else undefined.
   */
  attemptOtp(key: OtpKey, now: number, maxAttempts: number): Promise<{ codeHash: string } | undefined>;
  /** Marks the code used if it is still the one with `codeHash` and unused: true for one caller only. */
  consumeOtp(key: OtpKey, codeHash: string, now: number): Promise<boolean>;
  /** The attempt state of a member's step, for messages (tries left, locked). */
  getOtpState(key: OtpKey): Promise<OtpState | undefined>;
}

/** A personal magic link for one member and one stage; only the token's SHA-256 is stored. */
export interface ApprovalLink {
  tokenHash: string;
  approvalId: string;
  position: number;
  memberId: string;
  workspaceId: string;
  createdAt: number;
  /** The stage deadline. */
  expiresAt: number;
}

export interface OtpKey {
  approvalId: string;
  position: number;
  memberId: string;
}

export interface OtpIssue extends OtpKey {
  workspaceId: string;
  codeHash: string;
  createdAt: number;
  expiresAt: number;
}

export interface OtpState {
  attempts: number;
  expiresAt: number;
  usedAt: number | null;
}
