import { columns, only, onlyNumber } from '../db/schema/columns.ts';
import { type Conn, placeholders, sql } from '../db/types.ts';
import type { OutboxItem, Webhook } from '../domain/index.ts';
import { storableText } from '../domain/text.ts';

/** The durable outbox (DESIGN §2) and the webhook subscriptions it delivers to. */

const O = columns('outbox', [
  'id',
  'workspace_id',
  'kind',
  'target_id',
  'payload',
  'status',
  'attempts',
  'next_attempt_at',
  'last_error',
  'created_at',
  'updated_at',
]);
const toItem = (raw: unknown[]): OutboxItem => {
  const {
    id,
    workspace_id: workspaceId,
    kind,
    target_id: targetId,
    payload,
    status,
    attempts,
    next_attempt_at: nextAttemptAt,
    last_error: lastError,
    created_at: createdAt,
    updated_at: updatedAt,
  } = O.row(raw);
  return {
    id,
    workspaceId,
    kind: kind as OutboxItem['kind'],
    targetId,
    payload: JSON.parse(payload),
    status: status as OutboxItem['status'],
    attempts,
    nextAttemptAt,
    lastError,
    createdAt,
    updatedAt,
  };
};
const INSERT_ITEM = sql(`INSERT INTO outbox (${O.list}) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, NULL, ?, ?)`);
const DUE = sql(
  `SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`,
  only<string>,
);
const COMPLETE = sql(
  `UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL, updated_at = ?
   WHERE id = ? AND status = 'pending'`,
);
const FAIL = sql(
  `UPDATE outbox SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ?
   WHERE id = ? AND status = 'pending'`,
);
const FOR_TARGET = sql(
  `SELECT ${O.list} FROM outbox WHERE target_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
  toItem,
);

export interface NewOutboxItem {
  id: string;
  workspaceId: string | null;
  kind: OutboxItem['kind'];
  targetId: string | null;
  payload: Record<string, unknown>;
  at: number;
}

export async function insertOutbox(tx: Conn, item: NewOutboxItem): Promise<void> {
  await tx.run(INSERT_ITEM, [
    item.id,
    item.workspaceId,
    item.kind,
    item.targetId,
    JSON.stringify(item.payload),
    item.at,
    item.at,
    item.at,
  ]);
}

/**
 * Claims due items: their next attempt moves `leaseMs` ahead so no one else takes them. The claim
 * is a conditional update: a replica racing for the same rows re-checks them and finds them leased.
 */
export async function claimOutbox(
  tx: Conn,
  now: number,
  limit: number,
  leaseMs: number,
): Promise<OutboxItem[]> {
  const due = await tx.all(DUE, [now, limit]);
  if (due.length === 0) return [];
  const text = `UPDATE outbox SET next_attempt_at = ?, updated_at = ?
    WHERE id IN (${placeholders(due.length)}) AND status = 'pending' AND next_attempt_at <= ?
    RETURNING ${O.list}`;
  return tx.all(sql(text, toItem), [now + leaseMs, now, ...due, now]);
}

export async function completeOutbox(tx: Conn, id: string, now: number): Promise<void> {
  await tx.run(COMPLETE, [now, id]);
}

/** A failed attempt: retried at `retryAt`, or failed for good when it is null. */
export async function failOutbox(tx: Conn, id: string, error: string, now: number, retryAt: number | null) {
  await tx.run(FAIL, [
    retryAt === null ? 'failed' : 'pending',
    retryAt ?? now,
    // A receiver's answer is outside text: a NUL in it must not fail the write (PostgreSQL refuses one).
    storableText(error.slice(0, 1000)),
    now,
    id,
  ]);
}

export function listOutbox(conn: Conn, targetId: string, limit: number): Promise<OutboxItem[]> {
  return conn.all(FOR_TARGET, [targetId, limit]);
}

// ── webhooks ──────────────────────────────────────────────────────────────────────────────────────

const W = columns('webhooks', ['id', 'workspace_id', 'url', 'events', 'secret', 'created_at', 'deleted_at']);
const toWebhook = (raw: unknown[]): Webhook => {
  const {
    id,
    workspace_id: workspaceId,
    url,
    events,
    secret,
    created_at: createdAt,
    deleted_at: deletedAt,
  } = W.row(raw);
  return { id, workspaceId, url, events: events.split(' ').filter(Boolean), secret, createdAt, deletedAt };
};
const INSERT_WEBHOOK = sql(`INSERT INTO webhooks (${W.list}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
const WEBHOOKS = sql(
  `SELECT ${W.list} FROM webhooks WHERE workspace_id = ? AND deleted_at IS NULL ORDER BY id`,
  toWebhook,
);
const WEBHOOK = sql(`SELECT ${W.list} FROM webhooks WHERE id = ?`, toWebhook);
const DELETE_WEBHOOK = sql(
  'UPDATE webhooks SET deleted_at = ? WHERE id = ? AND workspace_id = ? AND deleted_at IS NULL',
);

export async function insertWebhook(tx: Conn, w: Webhook): Promise<void> {
  await tx.run(
    INSERT_WEBHOOK,
    W.values({
      id: w.id,
      workspace_id: w.workspaceId,
      url: w.url,
      events: w.events.join(' '),
      secret: w.secret,
      created_at: w.createdAt,
      deleted_at: w.deletedAt,
    }),
  );
}

/** The workspace's live subscriptions. */
export function listWebhooks(conn: Conn, workspaceId: string): Promise<Webhook[]> {
  return conn.all(WEBHOOKS, [workspaceId]);
}

/** By id, deleted ones included (their `deletedAt` set). */
export function getWebhook(conn: Conn, id: string): Promise<Webhook | undefined> {
  return conn.get(WEBHOOK, [id]);
}

export async function deleteWebhook(tx: Conn, workspaceId: string, id: string, at: number): Promise<boolean> {
  return (await tx.run(DELETE_WEBHOOK, [at, id, workspaceId])) > 0;
}

const SECRET = columns('webhooks', ['id', 'secret']);
const WEBHOOK_SECRETS = sql(
  `SELECT ${SECRET.list} FROM webhooks ORDER BY id`,
  SECRET.map((r) => ({ id: r.id, secret: r.secret })),
);
const RESEAL_WEBHOOK = sql('UPDATE webhooks SET secret = ? WHERE id = ? AND secret = ?');

/** Every webhook's secret as stored, deleted ones included (`warden secrets reseal`). */
export function listWebhookSecrets(conn: Conn): Promise<{ id: string; secret: string }[]> {
  return conn.all(WEBHOOK_SECRETS);
}

/** Replaces a stored secret with the same one sealed anew, only if it is still `from`. */
export async function resealWebhookSecret(tx: Conn, id: string, from: string, to: string): Promise<boolean> {
  return (await tx.run(RESEAL_WEBHOOK, [to, id, from])) > 0;
}

const BACKLOG_COUNT = sql("SELECT COUNT(*) FROM outbox WHERE status = 'pending'", onlyNumber);

/** Deliveries not yet made, due or waiting for a retry (the warden_outbox_backlog gauge). */
export async function countOutboxBacklog(conn: Conn): Promise<number> {
  return (await conn.get(BACKLOG_COUNT)) ?? 0;
}
