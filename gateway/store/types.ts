import type { AdapterConfig } from '../../adapters/types.ts';

/**
 * The store contract. Every write is a single conditional statement or one short transaction
 * (update/delete … returning, insert … on conflict), never select-then-write, so the same contract
 * holds on SQLite and PostgreSQL and across replicas (DESIGN §8).
 */

export type Role = 'admin' | 'developer' | 'approver';
export type Scope = 'discover' | 'query' | 'execute';
export type Operation = 'discover' | 'query' | 'execute';
export type TransactionStatus = 'pending' | 'succeeded' | 'failed' | 'pending_confirmation';

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

export interface AdmitInput {
  transaction: Transaction;
  token?: TokenClaim;
  idempotency?: IdempotencyClaim;
  audit?: AuditEvent;
}

export type AdmitResult =
  | { admitted: true }
  | { admitted: false; reason: 'token_consumed' }
  | { admitted: false; reason: 'idempotency_conflict'; record: IdempotencyRecord };

export interface FinishInput {
  transactionId: string;
  status: TransactionStatus;
  data: unknown;
  error: TransactionError | null;
  at: number;
  /** The answer an idempotent replay will return. */
  idempotency?: { agentKeyId: string; key: string; response: StoredResponse };
}

export interface BusinessFilter {
  category?: string;
  q?: string;
}

export interface Store {
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
  /** Deletes the token only if it has expired by `now` (a stale token is removed when presented). */
  deleteExpiredConfirmationToken(tokenHash: string, now: number): Promise<void>;
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
  /**
   * Pending transactions last touched before `before` were orphaned by a process that died:
   * they fail with `error` and their idempotency records get `response`.
   */
  failStaleTransactions(
    before: number,
    error: TransactionError,
    response: (id: string) => StoredResponse,
  ): Promise<number>;

  appendAudit(event: AuditEvent): Promise<void>;
}
