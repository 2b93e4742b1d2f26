import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';

// The SQLite schema on PostgreSQL, table for table and index for index (DESIGN §8): times are epoch
// milliseconds and money is integer minor units, both bigint read as JS numbers; JSON is stored as text
// (exactly the bytes written, as on SQLite: hashes and replays see what went in).

const ms = <N extends string>(name: N) => bigint(name, { mode: 'number' });

export const workspaces = pgTable('workspaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /**
   * Standard Webhooks secret that signs an evaluation's `webhook_url` callbacks (DESIGN §5), sealed
   * under SECRETS_KEY (gateway/crypto/sealing.ts); null until an admin creates one.
   */
  callbackSecret: text('callback_secret'),
  createdAt: ms('created_at').notNull(),
  /**
   * Set while an operator has archived the workspace (issue 11): its agent keys and member tokens
   * are refused with 403 WORKSPACE_ARCHIVED and its data is kept; restore clears it.
   */
  archivedAt: ms('archived_at'),
  /**
   * Cost attribution (issue 14): what one policy evaluation costs this workspace, in millionths of
   * its billing unit; snapshotted on each execute and evaluation (`transactions.cost_micros`).
   */
  evaluationPriceMicros: ms('evaluation_price_micros').notNull().default(0),
});

export const members = pgTable(
  'members',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    email: text('email').notNull(),
    role: text('role', { enum: ['admin', 'developer', 'approver'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('members_token_hash').on(t.tokenHash),
    uniqueIndex('members_ws_email').on(t.workspaceId, t.email),
  ],
);

export const agentKeys = pgTable(
  'agent_keys',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    agentId: text('agent_id').notNull(),
    keyHash: text('key_hash').notNull(),
    keyPrefix: text('key_prefix').notNull(),
    scopes: text('scopes').notNull(),
    policyName: text('policy_name'),
    createdBy: text('created_by'),
    createdAt: ms('created_at').notNull(),
    revokedAt: ms('revoked_at'),
  },
  (t) => [uniqueIndex('agent_keys_key_hash').on(t.keyHash), index('agent_keys_ws').on(t.workspaceId)],
);

/**
 * Invitations to join a workspace (issue 11): a one-time link emailed to `email`, valid 24 hours,
 * through which the person takes their member token. Only the link token's SHA-256 is kept;
 * `accepted_at` is set once, by one conditional update, so a link makes at most one member.
 */
export const invites = pgTable(
  'invites',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    email: text('email').notNull(),
    role: text('role', { enum: ['admin', 'developer', 'approver'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    createdBy: text('created_by'),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
    acceptedAt: ms('accepted_at'),
    /** The member the invitation made, once accepted. */
    memberId: text('member_id'),
  },
  (t) => [uniqueIndex('invites_token_hash').on(t.tokenHash), index('invites_ws').on(t.workspaceId)],
);

export const businesses = pgTable(
  'businesses',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    category: text('category').notNull(),
    description: text('description').notNull().default(''),
    adapter: text('adapter').notNull(),
    signingSecret: text('signing_secret').notNull(),
    createdAt: ms('created_at').notNull(),
    /** Issue 12 lifecycle: live | sandbox | suspended | archived. */
    status: text('status').notNull().default('live'),
    /** JSON array of the workspace ids a sandbox business answers. */
    sandboxWorkspaces: text('sandbox_workspaces').notNull().default('[]'),
    /** SHA-256 of the business key (issue 12); null when none or revoked. */
    keyHash: text('key_hash'),
    /** The signing secret before the last rotation, sealed, signed with too until `previous_secret_until`. */
    previousSigningSecret: text('previous_signing_secret'),
    previousSecretUntil: ms('previous_secret_until'),
  },
  (t) => [index('businesses_category').on(t.category), uniqueIndex('businesses_key_hash').on(t.keyHash)],
);

export const transactions = pgTable(
  'transactions',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    agentKeyId: text('agent_key_id').notNull(),
    agentId: text('agent_id').notNull(),
    /** Null for an evaluation (DESIGN §5 evaluate-only): no business is called. */
    businessId: text('business_id'),
    operation: text('operation', { enum: ['discover', 'query', 'execute', 'evaluate'] }).notNull(),
    status: text('status').notNull(),
    request: text('request').notNull(),
    requestHash: text('request_hash').notNull(),
    amount: bigint('amount', { mode: 'number' }),
    currency: text('currency'),
    data: text('data'),
    error: text('error'),
    decision: text('decision'),
    policyVersionId: text('policy_version_id'),
    policyName: text('policy_name'),
    businessCategory: text('business_category'),
    /** Two-phase spend (DESIGN §6): none | pending (reserved) | posted | voided. */
    spendState: text('spend_state').notNull().default('none'),
    releaseAt: ms('release_at'),
    approvalId: text('approval_id'),
    idempotencyKey: text('idempotency_key'),
    requestId: text('request_id'),
    /** An evaluation's `webhook_url`: approval_required and terminal_outcome are posted there. */
    callbackUrl: text('callback_url'),
    /** Issue 13: the MCP call that made it (client, session, tool, JSON-RPC id), JSON; null over REST. */
    mcp: text('mcp'),
    /** Issue 14: the price of this evaluation when it was made (agent price, else workspace default). */
    costMicros: ms('cost_micros'),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  (t) => [
    // Few indexes, and partial ones where a query only ever looks at one status: every index is
    // one more b-tree page to write per commit, and again when the status moves (issue 9).
    index('transactions_ws_id').on(t.workspaceId, t.id),
    // A business's own calls, newest first (GET /v1/business/calls, issue 12).
    index('transactions_business_id').on(t.businessId, t.id),
    index('transactions_pending').on(t.updatedAt).where(sql`status = 'pending'`),
    index('transactions_queued').on(t.releaseAt).where(sql`status = 'queued'`),
    index('transactions_succeeded_business')
      .on(t.workspaceId, t.businessId)
      .where(sql`status = 'succeeded' AND operation = 'execute'`),
  ],
);

export const confirmationTokens = pgTable(
  'confirmation_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    agentKeyId: text('agent_key_id').notNull(),
    businessId: text('business_id').notNull(),
    requestHash: text('request_hash').notNull(),
    summary: text('summary').notNull(),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [index('confirmation_tokens_expires').on(t.expiresAt)],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    agentKeyId: text('agent_key_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    transactionId: text('transaction_id').notNull(),
    responseStatus: integer('response_status'),
    responseBody: text('response_body'),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.agentKeyId, t.key] }), index('idempotency_keys_expires').on(t.expiresAt)],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id'),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    target: text('target'),
    data: text('data').notNull().default(sql`'{}'`),
    createdAt: ms('created_at').notNull(),
    /**
     * The hash chain (DESIGN §9): position in its workspace's chain (operator events without a
     * workspace form one chain of their own), the previous event's hash, and this event's hash:
     * SHA-256 of RFC 8785 over every other column. Null only on rows written before the chain
     * existed, until the start-up backfill chains them.
     */
    seq: integer('seq'),
    prevHash: text('prev_hash'),
    hash: text('hash'),
  },
  (t) => [
    index('audit_events_ws_created').on(t.workspaceId, t.createdAt),
    // GET /v1/audit and the console's log, newest first, walk it in order (issue 18).
    index('audit_events_ws_id').on(t.workspaceId, t.id),
    // One event per place in a chain: two writers can never fork it, whatever their timing.
    uniqueIndex('audit_events_chain').on(sql`coalesce(${t.workspaceId}, '')`, t.seq),
  ],
);

export const policies = pgTable(
  'policies',
  {
    workspaceId: text('workspace_id').notNull(),
    name: text('name').notNull(),
    currentVersionId: text('current_version_id').notNull(),
    currentVersion: integer('current_version').notNull(),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.name] })],
);

export const policyVersions = pgTable(
  'policy_versions',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    document: text('document').notNull(),
    contentHash: text('content_hash').notNull(),
    createdBy: text('created_by'),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [uniqueIndex('policy_versions_ws_name_version').on(t.workspaceId, t.name, t.version)],
);

/** Spend per minute (DESIGN §6): see the SQLite schema. */
export const spendBuckets = pgTable(
  'spend_buckets',
  {
    workspaceId: text('workspace_id').notNull(),
    category: text('category').notNull(),
    currency: text('currency').notNull(),
    minute: ms('minute').notNull(),
    pending: bigint('pending', { mode: 'number' }).notNull().default(0),
    posted: bigint('posted', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.minute, t.category, t.currency] })],
);

/**
 * The ledger rolled up per workspace and UTC hour (issue 18): what `/v1/transactions/summary`,
 * `/v1/analytics` and the console overview read instead of scanning `transactions`. One row per
 * hour and combination of everything those reads group by, with the sums they need. Kept by
 * triggers on `transactions` and `approvals` (migrations), inside the statement that changes a
 * row, so a counter moves in the same database transaction as the status it counts and no code
 * path can forget it. Executes and evaluations only, and not while `status = 'pending'`: the
 * execute hot path inserts a pending row and finishes it, so it pays one counter write (at the
 * finish) rather than three; readers add the pending rows from their partial index.
 * Empty text stands for null (no business, category, currency, approval or rule id).
 */
export const transactionRollups = pgTable(
  'transaction_rollups',
  {
    workspaceId: text('workspace_id').notNull(),
    /** Start of the UTC hour of `created_at`, epoch ms. */
    hour: ms('hour').notNull(),
    operation: text('operation').notNull(),
    agentId: text('agent_id').notNull(),
    businessId: text('business_id').notNull(),
    category: text('category').notNull(),
    currency: text('currency').notNull(),
    status: text('status').notNull(),
    spendState: text('spend_state').notNull(),
    /** The status of the approval the transaction names (`approval_id`); '' when none. */
    approval: text('approval').notNull(),
    /** 1 for a refusal by the policy itself (rejected, never parked for people). */
    refused: integer('refused').notNull(),
    /** A refusal's `decision.ruleId`; '' otherwise. */
    ruleId: text('rule_id').notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull().default(0),
    /** Sum of `amount` (null as 0) and how many rows had one. */
    amount: bigint('amount', { mode: 'number' }).notNull().default(0),
    amounts: bigint('amounts', { mode: 'number' }).notNull().default(0),
    /** Sum of `cost_micros` (null as 0) and how many rows had one. */
    costMicros: bigint('cost_micros', { mode: 'number' }).notNull().default(0),
    costs: bigint('costs', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    primaryKey({
      // The default name (every column's) is past PostgreSQL's 63 characters.
      name: 'transaction_rollups_pk',
      columns: [
        t.workspaceId,
        t.hour,
        t.operation,
        t.agentId,
        t.businessId,
        t.category,
        t.currency,
        t.status,
        t.spendState,
        t.approval,
        t.refused,
        t.ruleId,
      ],
    }),
  ],
);

/** A parked execute awaiting people (DESIGN §5, §6): one row, its stages below. */
export const approvals = pgTable(
  'approvals',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    transactionId: text('transaction_id').notNull(),
    requestHash: text('request_hash').notNull(),
    status: text('status').notNull(),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('approvals_transaction').on(t.transactionId),
    // Lists by status newest first read the index in order (issue 18): no sort of every row.
    index('approvals_ws_status').on(t.workspaceId, t.status, t.id),
    // The analytics' decision times read a range of creation times a page at a time (issue 18).
    index('approvals_ws_created').on(t.workspaceId, t.createdAt, t.id),
  ],
);

export const approvalStages = pgTable(
  'approval_stages',
  {
    approvalId: text('approval_id').notNull(),
    position: integer('position').notNull(),
    stageIndex: integer('stage_index').notNull(),
    role: text('role').notNull(),
    tier: text('tier').notNull(),
    quorum: integer('quorum').notNull(),
    timeoutSeconds: integer('timeout_seconds').notNull(),
    onTimeout: text('on_timeout').notNull(),
    /** waiting | pending (active) | approved | rejected | expired | escalated */
    status: text('status').notNull(),
    activatedAt: ms('activated_at'),
    deadlineAt: ms('deadline_at'),
    decidedAt: ms('decided_at'),
  },
  (t) => [
    primaryKey({ columns: [t.approvalId, t.position] }),
    index('approval_stages_due').on(t.status, t.deadlineAt),
  ],
);

/** One vote per member per approval: the key itself stops anyone approving two stages. */
export const approvalVotes = pgTable(
  'approval_votes',
  {
    approvalId: text('approval_id').notNull(),
    memberId: text('member_id').notNull(),
    position: integer('position').notNull(),
    decision: text('decision').notNull(),
    reason: text('reason'),
    via: text('via').notNull(),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.approvalId, t.memberId] })],
);

/** Durable outbox (DESIGN §2): written with the state change that caused it, delivered by a worker. */
export const outbox = pgTable(
  'outbox',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id'),
    kind: text('kind').notNull(),
    targetId: text('target_id'),
    payload: text('payload').notNull(),
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ms('next_attempt_at').notNull(),
    lastError: text('last_error'),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  (t) => [
    index('outbox_due').on(t.status, t.nextAttemptAt),
    index('outbox_target').on(t.targetId, t.createdAt),
  ],
);

export const webhooks = pgTable(
  'webhooks',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    url: text('url').notNull(),
    /** Space-separated event names. */
    events: text('events').notNull(),
    secret: text('secret').notNull(),
    createdAt: ms('created_at').notNull(),
    deletedAt: ms('deleted_at'),
  },
  (t) => [index('webhooks_ws').on(t.workspaceId)],
);

/**
 * Requests per agent key per minute (RATE_LIMIT_PER_MINUTE): one counter row per key and minute,
 * bumped by one upsert, so every replica counts against the same number.
 */
export const rateCounters = pgTable(
  'rate_counters',
  {
    key: text('key').notNull(),
    windowStart: ms('window_start').notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.key, t.windowStart] }), index('rate_counters_window').on(t.windowStart)],
);

/** Personal magic links (DESIGN §5): see the SQLite schema. */
export const approvalLinks = pgTable(
  'approval_links',
  {
    tokenHash: text('token_hash').primaryKey(),
    approvalId: text('approval_id').notNull(),
    position: integer('position').notNull(),
    memberId: text('member_id').notNull(),
    workspaceId: text('workspace_id').notNull(),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [index('approval_links_approval').on(t.approvalId, t.memberId)],
);

/** One-time codes for critical-tier stages (DESIGN §5): see the SQLite schema. */
export const approvalOtps = pgTable(
  'approval_otps',
  {
    approvalId: text('approval_id').notNull(),
    position: integer('position').notNull(),
    memberId: text('member_id').notNull(),
    workspaceId: text('workspace_id').notNull(),
    codeHash: text('code_hash').notNull(),
    attempts: integer('attempts').notNull().default(0),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
    usedAt: ms('used_at'),
  },
  (t) => [primaryKey({ columns: [t.approvalId, t.position, t.memberId] })],
);

/** See the SQLite schema: one row, bumped with every change to what the hot path caches. */
export const configVersion = pgTable('config_version', {
  id: integer('id').primaryKey(),
  version: ms('version').notNull(),
});

/**
 * The gateway's receipt signing keys (DESIGN §9): Ed25519, the private half sealed under
 * SECRETS_KEY. One is `current`; `retired` ones stay published so old receipts still verify.
 */
export const signingKeys = pgTable(
  'signing_keys',
  {
    kid: text('kid').primaryKey(),
    publicJwk: text('public_jwk').notNull(),
    privateKey: text('private_key').notNull(),
    status: text('status', { enum: ['current', 'retired'] }).notNull(),
    createdAt: ms('created_at').notNull(),
    retiredAt: ms('retired_at'),
  },
  // At most one current key, whichever replica creates or rotates it.
  (t) => [uniqueIndex('signing_keys_current').on(t.status).where(sql`status = 'current'`)],
);

/**
 * Signed receipts (DESIGN §9), one per settled execute or evaluation. Version 1 receipts were
 * chained per workspace (`seq` their place, `hash` the SHA-256 of `jws` that the next one's `prev`
 * named); version 2 receipts name no other (`seq` null) and the ledger log orders them.
 */
export const receipts = pgTable(
  'receipts',
  {
    transactionId: text('transaction_id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    seq: integer('seq'),
    jws: text('jws').notNull(),
    hash: text('hash').notNull(),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [uniqueIndex('receipts_chain').on(t.workspaceId, t.seq)],
);

/** Issue 14: a per-agent price per evaluation, overriding the workspace default (`evaluation_price_micros`). */
export const agentPrices = pgTable(
  'agent_prices',
  {
    workspaceId: text('workspace_id').notNull(),
    agentId: text('agent_id').notNull(),
    priceMicros: ms('price_micros').notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.agentId] })],
);

/**
 * Console sign-in sessions (issue 14): only the SHA-256 of the cookie's token is kept. A session
 * ends at `expires_at` (absolute) or after idling past the configured limit since `last_seen_at`.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    memberId: text('member_id').notNull(),
    createdAt: ms('created_at').notNull(),
    lastSeenAt: ms('last_seen_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [index('console_sessions_member').on(t.memberId)],
);

/** Emailed console sign-in links (issue 14): single use (`used_at` set once), hashed, short-lived. */
export const consoleSignInLinks = pgTable(
  'console_sign_in_links',
  {
    tokenHash: text('token_hash').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    memberId: text('member_id').notNull(),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
    usedAt: ms('used_at'),
  },
  (t) => [index('console_sign_in_links_member').on(t.memberId)],
);

/**
 * The ledger log's inbox (DESIGN §9): one row per receipt or audit event committed and not yet
 * appended, written by triggers in the transaction that writes the receipt or chains the event, so
 * nothing committed can be left out. The sequencer deletes the rows it appends, in the transaction
 * that appends them. `workspace_id` is '' for the operator's own audit events.
 */
export const ledgerQueue = pgTable(
  'ledger_queue',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: text('workspace_id').notNull(),
    kind: text('kind', { enum: ['receipt', 'audit'] }).notNull(),
    ref: text('ref').notNull(),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [index('ledger_queue_ws').on(t.workspaceId, t.id)],
);

/**
 * The entries of each workspace's log, in log order (`idx` from 0): a receipt's JWS, or an audit
 * event's id and hash, exactly what the entry's canonical JSON holds. Never updated or deleted.
 */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    workspaceId: text('workspace_id').notNull(),
    idx: integer('idx').notNull(),
    kind: text('kind', { enum: ['receipt', 'audit'] }).notNull(),
    ref: text('ref').notNull(),
    jws: text('jws'),
    hash: text('hash'),
    appendedAt: ms('appended_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.idx] }),
    uniqueIndex('ledger_entries_ref').on(t.workspaceId, t.kind, t.ref),
  ],
);

/**
 * The log's complete subtrees (RFC 9162 §2.1): node (`level`, `idx`) hashes leaves
 * idx·2^level … (idx+1)·2^level − 1 (level 0: the leaf hashes), lowercase hex. Written once, when
 * the leaf completing it is appended, so any tree head or proof reads O(log n) of them.
 */
export const ledgerNodes = pgTable(
  'ledger_nodes',
  {
    workspaceId: text('workspace_id').notNull(),
    level: integer('level').notNull(),
    idx: integer('idx').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.level, t.idx] })],
);

/** Every signed checkpoint of every log (DESIGN §9): the newest is the log's head. */
export const ledgerCheckpoints = pgTable(
  'ledger_checkpoints',
  {
    workspaceId: text('workspace_id').notNull(),
    size: integer('size').notNull(),
    root: text('root').notNull(),
    jws: text('jws').notNull(),
    issuedAt: ms('issued_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.size] }),
    index('ledger_checkpoints_issued').on(t.workspaceId, t.issuedAt),
  ],
);
