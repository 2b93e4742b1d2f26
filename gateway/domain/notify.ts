/** What leaves the gateway after the fact: the outbox of emails and webhook deliveries (DESIGN §2). */

export type EventType =
  | 'approval.required'
  | 'approval.decided'
  | 'transaction.completed'
  | 'ledger.checkpoint';

export interface OutboxItem {
  id: string;
  workspaceId: string | null;
  /** `callback`: an evaluation's own `webhook_url` (DESIGN §5), signed with the workspace's callback secret. */
  kind: 'email' | 'webhook' | 'callback';
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
