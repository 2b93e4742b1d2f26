/** What leaves the gateway after the fact: the outbox of emails and webhook deliveries (DESIGN §2). */

export type EventType =
  | 'approval.required'
  | 'approval.decided'
  | 'transaction.completed'
  | 'ledger.checkpoint'
  | 'policy.sync_failed';

/**
 * `callback`: an evaluation's own `webhook_url` (DESIGN §5); `slack` and `teams`: approval messages
 * (issue 23); `policy_sync`: a Git push to read and store as a policy version (issue 23).
 */
export type OutboxKind = 'email' | 'webhook' | 'callback' | 'slack' | 'teams' | 'policy_sync';

export interface OutboxItem {
  id: string;
  workspaceId: string | null;
  /** `callback`: an evaluation's own `webhook_url` (DESIGN §5), signed with the workspace's callback secret. */
  kind: OutboxKind;
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

/** Issue 23: where approvals are posted besides email. */
export type ChannelKind = 'slack' | 'teams';

export interface Channel {
  id: string;
  workspaceId: string;
  kind: ChannelKind;
  /** Slack: `{routes: {<role>: <channel id> | "dm"}}`; Teams: `{}`. */
  settings: Record<string, unknown>;
  /** Sealed JSON: Slack `{botToken, signingSecret}`; Teams `{webhookUrl}`. */
  secrets: string;
  createdAt: number;
  updatedAt: number;
}

/** A Slack message posted for one approval stage in one conversation. */
export interface ChannelMessage {
  workspaceId: string;
  approvalId: string;
  position: number;
  channel: string;
  ts: string;
  createdAt: number;
}

/** Issue 23, policy as code: a policy linked to a file in a Git repository. */
export interface PolicySource {
  id: string;
  workspaceId: string;
  name: string;
  provider: 'github' | 'gitlab';
  repository: string;
  path: string;
  branch: string;
  /** Sealed; null for a public repository (and then no commit statuses). */
  token: string | null;
  /** Sealed. */
  webhookSecret: string;
  lastCommit: string | null;
  lastStatus: 'synced' | 'invalid' | 'error' | null;
  lastError: string | null;
  lastSyncedAt: number | null;
  createdAt: number;
  updatedAt: number;
}
