import { sql } from 'drizzle-orm';
import { bigint, integer, table, text } from './describe.ts';

/**
 * Every table, described once for both dialects (DESIGN §8): `sqlite.ts` and `postgres.ts` derive
 * their drizzle schemas from it, drizzle-kit diffs those into the migrations, and `columns.ts`
 * types the rows by it. Times are epoch milliseconds and money integer minor units (`bigint`);
 * JSON is stored as text (exactly the bytes written: hashes and replays see what went in).
 * To add a table, copy one below, then run `npm run db:generate` and `npm run db:generate:pg`.
 */
export const TABLES = {
  workspaces: table({
    id: text().primaryKey(),
    name: text().notNull(),
    /**
     * Standard Webhooks secret that signs an evaluation's `webhook_url` callbacks (DESIGN §5), sealed
     * under SECRETS_KEY (gateway/crypto/sealing.ts); null until an admin creates one.
     */
    callback_secret: text(),
    created_at: bigint().notNull(),
    /**
     * Set while an operator has archived the workspace (issue 11): its agent keys and member tokens
     * are refused with 403 WORKSPACE_ARCHIVED and its data is kept; restore clears it.
     */
    archived_at: bigint(),
    /**
     * Cost attribution (issue 14): what one policy evaluation costs this workspace, in millionths of
     * its billing unit; snapshotted on each execute and evaluation (`transactions.cost_micros`).
     */
    evaluation_price_micros: bigint().notNull().default(0),
  }),

  members: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull().references('workspaces.id'),
      email: text().notNull(),
      role: text({ enum: ['admin', 'developer', 'approver'] }).notNull(),
      token_hash: text().notNull(),
      created_at: bigint().notNull(),
    },
    {
      indexes: [
        { name: 'members_token_hash', unique: true, on: ['token_hash'] },
        { name: 'members_ws_email', unique: true, on: ['workspace_id', 'email'] },
      ],
    },
  ),

  agent_keys: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull().references('workspaces.id'),
      agent_id: text().notNull(),
      key_hash: text().notNull(),
      key_prefix: text().notNull(),
      scopes: text().notNull(),
      policy_name: text(),
      created_by: text(),
      created_at: bigint().notNull(),
      revoked_at: bigint(),
    },
    {
      indexes: [
        { name: 'agent_keys_key_hash', unique: true, on: ['key_hash'] },
        { name: 'agent_keys_ws', on: ['workspace_id'] },
      ],
    },
  ),

  /**
   * Invitations to join a workspace (issue 11): a one-time link emailed to `email`, valid 24 hours,
   * through which the person takes their member token. Only the link token's SHA-256 is kept;
   * `accepted_at` is set once, by one conditional update, so a link makes at most one member.
   */
  invites: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull().references('workspaces.id'),
      email: text().notNull(),
      role: text({ enum: ['admin', 'developer', 'approver'] }).notNull(),
      token_hash: text().notNull(),
      created_by: text(),
      created_at: bigint().notNull(),
      expires_at: bigint().notNull(),
      accepted_at: bigint(),
      /** The member the invitation made, once accepted. */
      member_id: text(),
    },
    {
      indexes: [
        { name: 'invites_token_hash', unique: true, on: ['token_hash'] },
        { name: 'invites_ws', on: ['workspace_id'] },
      ],
    },
  ),

  businesses: table(
    {
      id: text().primaryKey(),
      name: text().notNull(),
      category: text().notNull(),
      description: text().notNull().default(''),
      adapter: text().notNull(),
      signing_secret: text().notNull(),
      created_at: bigint().notNull(),
      /** Issue 12 lifecycle: live | sandbox | suspended | archived. */
      status: text().notNull().default('live'),
      /** JSON array of the workspace ids a sandbox business answers. */
      sandbox_workspaces: text().notNull().default('[]'),
      /** SHA-256 of the business key (issue 12); null when none or revoked. */
      key_hash: text(),
      /** The signing secret before the last rotation, sealed, signed with too until `previous_secret_until`. */
      previous_signing_secret: text(),
      previous_secret_until: bigint(),
    },
    {
      indexes: [
        { name: 'businesses_category', on: ['category'] },
        { name: 'businesses_key_hash', unique: true, on: ['key_hash'] },
      ],
    },
  ),

  transactions: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull(),
      agent_key_id: text().notNull(),
      agent_id: text().notNull(),
      /** Null for an evaluation (DESIGN §5 evaluate-only): no business is called. */
      business_id: text(),
      operation: text({ enum: ['discover', 'query', 'execute', 'evaluate'] }).notNull(),
      status: text().notNull(),
      request: text().notNull(),
      request_hash: text().notNull(),
      amount: bigint(),
      currency: text(),
      data: text(),
      error: text(),
      decision: text(),
      policy_version_id: text(),
      policy_name: text(),
      business_category: text(),
      /** Two-phase spend (DESIGN §6): none | pending (reserved) | posted | voided. */
      spend_state: text().notNull().default('none'),
      release_at: bigint(),
      approval_id: text(),
      idempotency_key: text(),
      request_id: text(),
      /** An evaluation's `webhook_url`: approval_required and terminal_outcome are posted there. */
      callback_url: text(),
      /** Issue 13: the MCP call that made it (client, session, tool, JSON-RPC id), JSON; null over REST. */
      mcp: text(),
      /** Issue 14: the price of this evaluation when it was made (agent price, else workspace default). */
      cost_micros: bigint(),
      /** Issue 24: the W3C trace id (32 hex) of the request that made it, from `traceparent` or its own span. */
      trace_id: text(),
      /**
       * Issue 24: the W3C trace context (`traceparent`, `tracestate`) of the request's span, JSON; an
       * approved or queued execute's later forward continues it. Null when the request was not traced.
       */
      trace_context: text(),
      /** Issue 22: the OAuth client that acted as the agent (its client_id); null for an agent key. */
      oauth_client_id: text(),
      created_at: bigint().notNull(),
      updated_at: bigint().notNull(),
    },
    {
      indexes: [
        // Few indexes, and partial ones where a query only ever looks at one status: every index is
        // one more b-tree page to write per commit, and again when the status moves (issue 9).
        { name: 'transactions_ws_id', on: ['workspace_id', 'id'] },
        // A business's own calls, newest first (GET /v1/business/calls, issue 12).
        { name: 'transactions_business_id', on: ['business_id', 'id'] },
        { name: 'transactions_pending', on: ['updated_at'], where: sql`status = 'pending'` },
        { name: 'transactions_queued', on: ['release_at'], where: sql`status = 'queued'` },
        {
          name: 'transactions_succeeded_business',
          on: ['workspace_id', 'business_id'],
          where: sql`status = 'succeeded' AND operation = 'execute'`,
        },
      ],
    },
  ),

  confirmation_tokens: table(
    {
      token_hash: text().primaryKey(),
      workspace_id: text().notNull(),
      agent_key_id: text().notNull(),
      business_id: text().notNull(),
      request_hash: text().notNull(),
      summary: text().notNull(),
      created_at: bigint().notNull(),
      expires_at: bigint().notNull(),
    },
    {
      indexes: [{ name: 'confirmation_tokens_expires', on: ['expires_at'] }],
    },
  ),

  idempotency_keys: table(
    {
      agent_key_id: text().notNull(),
      key: text().notNull(),
      request_hash: text().notNull(),
      transaction_id: text().notNull(),
      response_status: integer(),
      response_body: text(),
      created_at: bigint().notNull(),
      expires_at: bigint().notNull(),
    },
    {
      primaryKey: ['agent_key_id', 'key'],
      indexes: [{ name: 'idempotency_keys_expires', on: ['expires_at'] }],
    },
  ),

  audit_events: table(
    {
      id: text().primaryKey(),
      workspace_id: text(),
      actor_type: text().notNull(),
      actor_id: text(),
      action: text().notNull(),
      target: text(),
      data: text().notNull().default(sql`'{}'`),
      created_at: bigint().notNull(),
      /**
       * The hash chain (DESIGN §9): position in its workspace's chain (operator events without a
       * workspace form one chain of their own), the previous event's hash, and this event's hash:
       * SHA-256 of RFC 8785 over every other column. Null only on rows written before the chain
       * existed, until the start-up backfill chains them.
       */
      seq: integer(),
      prev_hash: text(),
      hash: text(),
    },
    {
      indexes: [
        { name: 'audit_events_ws_created', on: ['workspace_id', 'created_at'] },
        // GET /v1/audit and the console's log, newest first, walk it in order (issue 18).
        { name: 'audit_events_ws_id', on: ['workspace_id', 'id'] },
        // One event per place in a chain: two writers can never fork it, whatever their timing.
        { name: 'audit_events_chain', unique: true, on: [sql`coalesce("workspace_id", '')`, 'seq'] },
      ],
    },
  ),

  policies: table(
    {
      workspace_id: text().notNull(),
      name: text().notNull(),
      current_version_id: text().notNull(),
      current_version: integer().notNull(),
      created_at: bigint().notNull(),
      updated_at: bigint().notNull(),
    },
    { primaryKey: ['workspace_id', 'name'] },
  ),

  policy_versions: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull(),
      name: text().notNull(),
      version: integer().notNull(),
      document: text().notNull(),
      content_hash: text().notNull(),
      created_by: text(),
      created_at: bigint().notNull(),
      /** Issue 23: the commit a version synced from Git was read at (null for versions put by hand). */
      commit_id: text(),
      /** The author of that commit, `Name <email>` as the provider reported it. */
      commit_author: text(),
    },
    {
      indexes: [
        { name: 'policy_versions_ws_name_version', unique: true, on: ['workspace_id', 'name', 'version'] },
      ],
    },
  ),

  /**
   * Spend per workspace and minute, the running totals limits are checked against (DESIGN §6: every
   * execute of the workspace counts, whichever policy governed it, or none): admitted amounts
   * are `pending` until the business executed (`posted`) or the request ended otherwise (voided, removed).
   * A window sums at most one row per minute and shard, however many transactions it holds.
   */
  spend_buckets: table(
    {
      workspace_id: text().notNull(),
      category: text().notNull(),
      currency: text().notNull(),
      minute: bigint().notNull(),
      pending: bigint().notNull().default(0),
      posted: bigint().notNull().default(0),
      /**
       * Whose counter this is (DESIGN §8: settling an outcome waits for no other replica): on
       * PostgreSQL each gateway process adds to rows of its own shard (`warden.shard`, a random
       * number per process), so replicas never queue on, nor deadlock over, one hot row; readers sum
       * the shards. Always 0 on SQLite (one process writes).
       */
      shard: integer().notNull().default(0),
    },
    { primaryKey: ['workspace_id', 'minute', 'category', 'currency', 'shard'] },
  ),

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
  transaction_rollups: table(
    {
      workspace_id: text().notNull(),
      /** Start of the UTC hour of `created_at`, epoch ms. */
      hour: bigint().notNull(),
      operation: text().notNull(),
      agent_id: text().notNull(),
      business_id: text().notNull(),
      category: text().notNull(),
      currency: text().notNull(),
      status: text().notNull(),
      spend_state: text().notNull(),
      /** The status of the approval the transaction names (`approval_id`); '' when none. */
      approval: text().notNull(),
      /** 1 for a refusal by the policy itself (rejected, never parked for people). */
      refused: integer().notNull(),
      /** A refusal's `decision.ruleId`; '' otherwise. */
      rule_id: text().notNull(),
      requests: bigint().notNull().default(0),
      /** Sum of `amount` (null as 0) and how many rows had one. */
      amount: bigint().notNull().default(0),
      amounts: bigint().notNull().default(0),
      /** Sum of `cost_micros` (null as 0) and how many rows had one. */
      cost_micros: bigint().notNull().default(0),
      costs: bigint().notNull().default(0),
      /** The writing process's shard, as `spend_buckets.shard`: readers sum over it. */
      shard: integer().notNull().default(0),
    },
    {
      primaryKey: [
        'workspace_id',
        'hour',
        'operation',
        'agent_id',
        'business_id',
        'category',
        'currency',
        'status',
        'spend_state',
        'approval',
        'refused',
        'rule_id',
        'shard',
      ],
    },
  ),

  /** A parked execute awaiting people (DESIGN §5, §6): one row, its stages below. */
  approvals: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull(),
      transaction_id: text().notNull(),
      /** The request hash people approve; execution checks it again. */
      request_hash: text().notNull(),
      status: text().notNull(),
      created_at: bigint().notNull(),
      updated_at: bigint().notNull(),
    },
    {
      indexes: [
        { name: 'approvals_transaction', unique: true, on: ['transaction_id'] },
        // Lists by status newest first read the index in order (issue 18): no sort of every row.
        { name: 'approvals_ws_status', on: ['workspace_id', 'status', 'id'] },
        // The analytics' decision times read a range of creation times a page at a time (issue 18).
        { name: 'approvals_ws_created', on: ['workspace_id', 'created_at', 'id'] },
      ],
    },
  ),

  approval_stages: table(
    {
      approval_id: text().notNull(),
      position: integer().notNull(),
      stage_index: integer().notNull(),
      role: text().notNull(),
      tier: text().notNull(),
      quorum: integer().notNull(),
      timeout_seconds: integer().notNull(),
      on_timeout: text().notNull(),
      /** waiting | pending (active) | approved | rejected | expired | escalated */
      status: text().notNull(),
      activated_at: bigint(),
      deadline_at: bigint(),
      decided_at: bigint(),
    },
    {
      primaryKey: ['approval_id', 'position'],
      indexes: [{ name: 'approval_stages_due', on: ['status', 'deadline_at'] }],
    },
  ),

  /** One vote per member per approval: the key itself stops anyone approving two stages. */
  approval_votes: table(
    {
      approval_id: text().notNull(),
      member_id: text().notNull(),
      position: integer().notNull(),
      decision: text().notNull(),
      reason: text(),
      via: text().notNull(),
      created_at: bigint().notNull(),
    },
    { primaryKey: ['approval_id', 'member_id'] },
  ),

  /**
   * Durable outbox (DESIGN §2): events written in the same transaction as the state change that
   * caused them, delivered (email, webhooks) by a worker with backoff.
   */
  outbox: table(
    {
      id: text().primaryKey(),
      workspace_id: text(),
      kind: text().notNull(),
      /** For webhook deliveries: which subscription, so deliveries are listed per webhook. */
      target_id: text(),
      payload: text().notNull(),
      status: text().notNull(),
      attempts: integer().notNull().default(0),
      next_attempt_at: bigint().notNull(),
      last_error: text(),
      created_at: bigint().notNull(),
      updated_at: bigint().notNull(),
    },
    {
      indexes: [
        { name: 'outbox_due', on: ['status', 'next_attempt_at'] },
        { name: 'outbox_target', on: ['target_id', 'created_at'] },
      ],
    },
  ),

  webhooks: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull(),
      url: text().notNull(),
      /** Space-separated event names. */
      events: text().notNull(),
      /** Standard Webhooks secret: needed in clear to sign, so it is never returned after creation. */
      secret: text().notNull(),
      created_at: bigint().notNull(),
      deleted_at: bigint(),
    },
    {
      indexes: [{ name: 'webhooks_ws', on: ['workspace_id'] }],
    },
  ),

  /**
   * Issue 23: where approvals are posted besides email. One row per workspace and kind: `slack` (a
   * Slack app: which channel each stage role goes to) or `teams` (an incoming Workflows webhook).
   * `secrets` is JSON sealed under SECRETS_KEY (the bot token and signing secret, or the webhook URL,
   * which is itself a credential); `settings` is the rest, in clear.
   */
  channels: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull(),
      kind: text({ enum: ['slack', 'teams'] }).notNull(),
      settings: text().notNull(),
      secrets: text().notNull(),
      created_at: bigint().notNull(),
      updated_at: bigint().notNull(),
    },
    { indexes: [{ name: 'channels_ws_kind', unique: true, on: ['workspace_id', 'kind'] }] },
  ),

  /**
   * The Slack messages posted for an approval stage (one per Slack channel or direct message), so
   * they can be updated when someone decides or the stage ends elsewhere.
   */
  channel_messages: table(
    {
      workspace_id: text().notNull(),
      approval_id: text().notNull(),
      position: integer().notNull(),
      /** The Slack conversation id the message is in. */
      channel: text().notNull(),
      /** Slack's message timestamp, the message's id within its conversation. */
      ts: text().notNull(),
      created_at: bigint().notNull(),
    },
    {
      primaryKey: ['approval_id', 'position', 'channel'],
      indexes: [{ name: 'channel_messages_ws', on: ['workspace_id'] }],
    },
  ),

  /** A Slack user a member linked to themselves in the console (the other way is a verified email). */
  slack_users: table(
    {
      workspace_id: text().notNull(),
      slack_user_id: text().notNull(),
      member_id: text().notNull(),
      created_at: bigint().notNull(),
    },
    {
      primaryKey: ['workspace_id', 'slack_user_id'],
      indexes: [{ name: 'slack_users_member', on: ['member_id'] }],
    },
  ),

  /**
   * Issue 23, policy as code: a policy linked to a file in a Git repository. A push to `branch` that
   * touches `path` stores the file as a new version. `token` (read access, and commit statuses on
   * GitHub) and `webhook_secret` are sealed under SECRETS_KEY; `last_*` is the newest sync's outcome.
   */
  policy_sources: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull(),
      name: text().notNull(),
      provider: text({ enum: ['github', 'gitlab'] }).notNull(),
      /** `owner/repo` on GitHub; the project's id or `group/project` path on GitLab. */
      repository: text().notNull(),
      path: text().notNull(),
      branch: text().notNull(),
      token: text(),
      webhook_secret: text().notNull(),
      last_commit: text(),
      /** `synced`, `invalid` (the file did not validate: nothing changed) or `error` (the provider failed). */
      last_status: text(),
      last_error: text(),
      last_synced_at: bigint(),
      created_at: bigint().notNull(),
      updated_at: bigint().notNull(),
    },
    { indexes: [{ name: 'policy_sources_ws_name', unique: true, on: ['workspace_id', 'name'] }] },
  ),

  /**
   * Requests per agent key per minute (RATE_LIMIT_PER_MINUTE): one counter row per key and minute,
   * bumped by one upsert, so every process sharing the database counts against the same number.
   */
  rate_counters: table(
    {
      key: text().notNull(),
      window_start: bigint().notNull(),
      count: integer().notNull().default(0),
    },
    {
      primaryKey: ['key', 'window_start'],
      indexes: [{ name: 'rate_counters_window', on: ['window_start'] }],
    },
  ),

  /**
   * Personal magic links (DESIGN §5): one per member and stage, made when the email is sent. Only the
   * token's hash is kept; a link is alive while its approval is pending, its stage is the active one
   * and `expires_at` (the stage deadline) has not passed; that is checked when it is used.
   */
  approval_links: table(
    {
      token_hash: text().primaryKey(),
      approval_id: text().notNull(),
      position: integer().notNull(),
      member_id: text().notNull(),
      workspace_id: text().notNull(),
      created_at: bigint().notNull(),
      expires_at: bigint().notNull(),
    },
    {
      indexes: [{ name: 'approval_links_approval', on: ['approval_id', 'member_id'] }],
    },
  ),

  /**
   * One-time codes for critical-tier stages (DESIGN §5: 6 digits, 10 minutes, 5 tries): one row per
   * member and stage. A new code replaces the old one but keeps `attempts`, so the five tries are per
   * step, not per code; at five the step is locked for that member.
   */
  approval_otps: table(
    {
      approval_id: text().notNull(),
      position: integer().notNull(),
      member_id: text().notNull(),
      workspace_id: text().notNull(),
      code_hash: text().notNull(),
      attempts: integer().notNull().default(0),
      created_at: bigint().notNull(),
      expires_at: bigint().notNull(),
      used_at: bigint(),
    },
    { primaryKey: ['approval_id', 'position', 'member_id'] },
  ),

  /**
   * One row whose version moves with every change to agent keys, businesses and policy pointers,
   * in the transaction of the change: the execute path reads it (one tiny indexed read) and serves
   * those from memory while it is unchanged, so a revocation still takes effect at once, on every
   * replica (issue 9).
   */
  config_version: table({
    id: integer().primaryKey(),
    version: bigint().notNull(),
  }),

  /**
   * The gateway's receipt signing keys (DESIGN §9): Ed25519, the private half sealed under
   * SECRETS_KEY. One is `current`; `retired` ones stay published so old receipts still verify.
   */
  signing_keys: table(
    {
      kid: text().primaryKey(),
      public_jwk: text().notNull(),
      private_key: text().notNull(),
      status: text({ enum: ['current', 'retired'] }).notNull(),
      /**
       * Issue 24: what the key signs: `receipt` (receipts and checkpoints, /.well-known/warden-keys) or
       * `forward` (RFC 9421 signatures on forwarded requests, /.well-known/http-message-signatures-directory).
       */
      purpose: text({ enum: ['receipt', 'forward'] })
        .notNull()
        .default('receipt'),
      created_at: bigint().notNull(),
      retired_at: bigint(),
    },
    {
      indexes: [
        // At most one current key per purpose, whichever replica creates or rotates it.
        {
          name: 'signing_keys_current_purpose',
          unique: true,
          on: ['purpose', 'status'],
          where: sql`status = 'current'`,
        },
      ],
    },
  ),

  /**
   * Signed receipts (DESIGN §9), one per settled execute or evaluation, chained per workspace: `seq`
   * is the place in the chain, `hash` the SHA-256 of `jws` that the next receipt's `prev` names.
   */
  receipts: table(
    {
      transaction_id: text().primaryKey(),
      workspace_id: text().notNull(),
      /** A version 1 receipt's place in its workspace's chain; null for version 2 (the log orders them). */
      seq: integer(),
      jws: text().notNull(),
      hash: text().notNull(),
      created_at: bigint().notNull(),
    },
    {
      indexes: [{ name: 'receipts_chain', unique: true, on: ['workspace_id', 'seq'] }],
    },
  ),

  /** Issue 14: a per-agent price per evaluation, overriding the workspace default (`evaluation_price_micros`). */
  agent_prices: table(
    {
      workspace_id: text().notNull(),
      agent_id: text().notNull(),
      price_micros: bigint().notNull(),
      updated_at: bigint().notNull(),
    },
    { primaryKey: ['workspace_id', 'agent_id'] },
  ),

  /**
   * Console sign-in sessions (issue 14): only the SHA-256 of the cookie's token is kept. A session
   * ends at `expires_at` (absolute) or after idling past the configured limit since `last_seen_at`.
   */
  console_sessions: table(
    {
      token_hash: text().primaryKey(),
      workspace_id: text().notNull(),
      member_id: text().notNull(),
      created_at: bigint().notNull(),
      last_seen_at: bigint().notNull(),
      expires_at: bigint().notNull(),
      /**
       * How the member signed in (issue 22): `token`, `link` or `sso`. A workspace that requires
       * single sign-on ends every console session not opened by it.
       */
      via: text({ enum: ['token', 'link', 'sso'] })
        .notNull()
        .default('token'),
    },
    {
      indexes: [{ name: 'console_sessions_member', on: ['member_id'] }],
    },
  ),

  /** Emailed console sign-in links (issue 14): single use (`used_at` set once), hashed, short-lived. */
  console_sign_in_links: table(
    {
      token_hash: text().primaryKey(),
      workspace_id: text().notNull(),
      member_id: text().notNull(),
      created_at: bigint().notNull(),
      expires_at: bigint().notNull(),
      used_at: bigint(),
    },
    {
      indexes: [{ name: 'console_sign_in_links_member', on: ['member_id'] }],
    },
  ),

  /**
   * Console single sign-on with OpenID Connect (issue 22): one identity provider per workspace. The
   * client secret is sealed under SECRETS_KEY like the other secrets the gateway reads back in clear.
   */
  sso_configs: table({
    workspace_id: text().primaryKey(),
    /** The issuer identifier; its discovery document is at `<issuer>/.well-known/openid-configuration`. */
    issuer: text().notNull(),
    client_id: text().notNull(),
    client_secret: text().notNull(),
    /** JSON array of the scopes asked for (`openid` always among them). */
    scopes: text().notNull(),
    /** The claim naming the person's groups (`groups` by default): a string or an array of strings. */
    role_claim: text().notNull(),
    /** JSON array of `{group, role}`; the first whose group the person is in gives the role. */
    role_mappings: text().notNull(),
    /** The role of a person in no mapped group; null: such a person is refused. */
    default_role: text({ enum: ['admin', 'developer', 'approver'] }),
    /** 1: a person the IdP vouches for who is not a member yet becomes one at sign-in (JIT). */
    jit: integer().notNull().default(0),
    /** 1: the console takes single sign-on only (member tokens still work for the API). */
    required: integer().notNull().default(0),
    created_at: bigint().notNull(),
    updated_at: bigint().notNull(),
  }),

  /**
   * The email domains each workspace's single sign-on answers for (issue 22): the sign-in page routes
   * an address to the one workspace that lists its domain, so a domain belongs to one workspace.
   */
  sso_domains: table(
    {
      domain: text().primaryKey(),
      workspace_id: text().notNull(),
    },
    { indexes: [{ name: 'sso_domains_ws', on: ['workspace_id'] }] },
  ),

  /**
   * Single sign-ons under way (issue 22): the `state` sent to the IdP (only its SHA-256), bound to the
   * browser that started it (its pre-session cookie's hash), with the nonce and the PKCE verifier
   * (sealed) the answer is checked against. Used once (`used_at`), ten minutes at most.
   */
  sso_sign_ins: table(
    {
      state_hash: text().primaryKey(),
      workspace_id: text().notNull(),
      browser_hash: text().notNull(),
      nonce: text().notNull(),
      code_verifier: text().notNull(),
      /** The console page to open afterwards. */
      next: text().notNull(),
      created_at: bigint().notNull(),
      expires_at: bigint().notNull(),
      used_at: bigint(),
    },
    { indexes: [{ name: 'sso_sign_ins_expires', on: ['expires_at'] }] },
  ),

  /**
   * The ledger log's inbox (DESIGN §9): one row per receipt or audit event committed and not yet
   * appended, written by triggers in the transaction that writes the receipt or chains the event
   * (migrations), so nothing committed can be left out. The sequencer deletes the rows it appends in
   * the transaction that appends them. `workspace_id` is '' for the operator's own audit events.
   */
  ledger_queue: table(
    {
      id: bigint().identity(),
      workspace_id: text().notNull(),
      kind: text({ enum: ['receipt', 'audit'] }).notNull(),
      ref: text().notNull(),
      created_at: bigint().notNull(),
    },
    { indexes: [{ name: 'ledger_queue_ws', on: ['workspace_id', 'id'] }] },
  ),

  /**
   * The entries of each workspace's log in log order (`idx` from 0): a receipt's JWS, or an audit
   * event's id and hash, exactly what the entry's canonical JSON holds. Never updated or deleted.
   */
  ledger_entries: table(
    {
      workspace_id: text().notNull(),
      idx: integer().notNull(),
      kind: text({ enum: ['receipt', 'audit'] }).notNull(),
      ref: text().notNull(),
      jws: text(),
      hash: text(),
      appended_at: bigint().notNull(),
    },
    {
      primaryKey: ['workspace_id', 'idx'],
      indexes: [{ name: 'ledger_entries_ref', unique: true, on: ['workspace_id', 'kind', 'ref'] }],
    },
  ),

  /**
   * The log's complete subtrees (RFC 9162 §2.1): node (`level`, `idx`) hashes leaves
   * idx·2^level … (idx+1)·2^level − 1 (level 0: the leaf hashes), lowercase hex. Written once, when
   * the leaf completing it is appended, so any tree head or proof reads O(log n) of them.
   */
  ledger_nodes: table(
    {
      workspace_id: text().notNull(),
      level: integer().notNull(),
      idx: integer().notNull(),
      hash: text().notNull(),
    },
    { primaryKey: ['workspace_id', 'level', 'idx'] },
  ),

  /** Every signed checkpoint of every log (DESIGN §9): the newest is the log's head. */
  ledger_checkpoints: table(
    {
      workspace_id: text().notNull(),
      size: integer().notNull(),
      root: text().notNull(),
      jws: text().notNull(),
      issued_at: bigint().notNull(),
    },
    {
      primaryKey: ['workspace_id', 'size'],
      indexes: [{ name: 'ledger_checkpoints_issued', on: ['workspace_id', 'issued_at'] }],
    },
  ),
  /**
   * OAuth clients registered dynamically (RFC 7591, issue 22). Clients identified by a Client ID
   * Metadata Document are not stored: their document is fetched when they ask for authorization.
   * Public clients only (token_endpoint_auth_method `none`): PKCE binds the code to the client.
   */
  oauth_clients: table({
    id: text().primaryKey(),
    client_name: text(),
    /** JSON array of the registered redirect URIs, compared exactly. */
    redirect_uris: text().notNull(),
    created_at: bigint().notNull(),
  }),

  /**
   * One authorisation a member gave a client (issue 22): the agent key it acts as, the scopes and
   * the resource (RFC 8707 audience). The code, access and refresh tokens issued under it are its
   * family in `oauth_tokens`; revoking the grant revokes them all.
   */
  oauth_grants: table(
    {
      id: text().primaryKey(),
      workspace_id: text().notNull(),
      member_id: text().notNull(),
      agent_key_id: text().notNull(),
      client_id: text().notNull(),
      client_name: text(),
      redirect_uri: text().notNull(),
      /** Space-separated, a subset of discover, query, execute. */
      scopes: text().notNull(),
      resource: text().notNull(),
      /** RFC 7636 S256 challenge the code's verifier must match. */
      code_challenge: text().notNull(),
      created_at: bigint().notNull(),
      last_used_at: bigint(),
      revoked_at: bigint(),
    },
    { indexes: [{ name: 'oauth_grants_ws_member', on: ['workspace_id', 'member_id'] }] },
  ),

  /**
   * Codes, access and refresh tokens (issue 22), only their SHA-256 kept. A code or a refresh
   * token is used once (`used_at` set by one conditional update); presenting it again revokes its
   * grant (RFC 6749 §4.1.2, OAuth 2.1 §4.3.1 refresh token rotation).
   */
  oauth_tokens: table(
    {
      token_hash: text().primaryKey(),
      grant_id: text().notNull(),
      workspace_id: text().notNull(),
      kind: text({ enum: ['code', 'access', 'refresh'] }).notNull(),
      created_at: bigint().notNull(),
      expires_at: bigint().notNull(),
      used_at: bigint(),
    },
    { indexes: [{ name: 'oauth_tokens_grant', on: ['grant_id'] }] },
  ),
};
