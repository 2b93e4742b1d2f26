import { columns } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { ConfirmationToken, IdempotencyRecord, StoredResponse } from '../domain/index.ts';
import { fromJson } from './json.ts';

/** Confirmation tokens and idempotency records (DESIGN §4): both single-use, both hashed or bound. */

// ── confirmation tokens ───────────────────────────────────────────────────────────────────────────

const T = columns('confirmation_tokens', [
  'token_hash',
  'workspace_id',
  'agent_key_id',
  'business_id',
  'request_hash',
  'summary',
  'created_at',
  'expires_at',
]);
const toToken = (raw: unknown[]): ConfirmationToken => {
  const {
    token_hash: tokenHash,
    workspace_id: workspaceId,
    agent_key_id: agentKeyId,
    business_id: businessId,
    request_hash: requestHash,
    summary,
    created_at: createdAt,
    expires_at: expiresAt,
  } = T.row(raw);
  return { tokenHash, workspaceId, agentKeyId, businessId, requestHash, summary, createdAt, expiresAt };
};
const INSERT_TOKEN = sql(`INSERT INTO confirmation_tokens (${T.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
const TOKEN = sql(`SELECT ${T.list} FROM confirmation_tokens WHERE token_hash = ?`, toToken);
/** The one conditional delete that makes a token single-use (DESIGN §4): never select-then-delete. */
const CONSUME_TOKEN = sql(
  `DELETE FROM confirmation_tokens
   WHERE token_hash = ? AND agent_key_id = ? AND business_id = ? AND request_hash = ? AND expires_at > ?`,
);
const SWEEP_TOKENS = sql('DELETE FROM confirmation_tokens WHERE expires_at < ?');

export async function insertToken(tx: Conn, t: ConfirmationToken): Promise<void> {
  await tx.run(
    INSERT_TOKEN,
    T.values({
      token_hash: t.tokenHash,
      workspace_id: t.workspaceId,
      agent_key_id: t.agentKeyId,
      business_id: t.businessId,
      request_hash: t.requestHash,
      summary: t.summary,
      created_at: t.createdAt,
      expires_at: t.expiresAt,
    }),
  );
}

export function findToken(conn: Conn, tokenHash: string): Promise<ConfirmationToken | undefined> {
  return conn.get(TOKEN, [tokenHash]);
}

/** What admission must consume: the token goes only if it still binds this exact request. */
export interface TokenClaim {
  tokenHash: string;
  agentKeyId: string;
  businessId: string;
  requestHash: string;
  now: number;
}

/** True for exactly one of any number of racing consumers. */
export async function consumeToken(tx: Conn, c: TokenClaim): Promise<boolean> {
  return (await tx.run(CONSUME_TOKEN, [c.tokenHash, c.agentKeyId, c.businessId, c.requestHash, c.now])) > 0;
}

/** Background sweep: tokens that expired before `before`. */
export function sweepTokens(tx: Conn, before: number): Promise<number> {
  return tx.run(SWEEP_TOKENS, [before]);
}

// ── idempotency ───────────────────────────────────────────────────────────────────────────────────

const I = columns('idempotency_keys', [
  'agent_key_id',
  'key',
  'request_hash',
  'transaction_id',
  'response_status',
  'response_body',
  'created_at',
  'expires_at',
]);
const toRecord = (raw: unknown[]): IdempotencyRecord => {
  const {
    agent_key_id: agentKeyId,
    key,
    request_hash: requestHash,
    transaction_id: transactionId,
    response_status: status,
    response_body: body,
    created_at: createdAt,
    expires_at: expiresAt,
  } = I.row(raw);
  return {
    agentKeyId,
    key,
    requestHash,
    transactionId,
    response: status === null ? null : { status, body: fromJson(body) },
    createdAt,
    expiresAt,
  };
};
const RECORD = sql(`SELECT ${I.list} FROM idempotency_keys WHERE agent_key_id = ? AND key = ?`, toRecord);
/**
 * A new key, or an expired and answered one not swept yet. A live one, or one still without an
 * answer (its outcome may be unknown), is a conflict. A racing claim of the same key waits for the
 * first transaction (the key is unique) and then finds it taken.
 */
const CLAIM = sql(
  `INSERT INTO idempotency_keys (${I.list}) VALUES (?, ?, ?, ?, NULL, NULL, ?, ?)
   ON CONFLICT (agent_key_id, key) DO UPDATE SET
     request_hash = excluded.request_hash, transaction_id = excluded.transaction_id,
     response_status = NULL, response_body = NULL,
     created_at = excluded.created_at, expires_at = excluded.expires_at
   WHERE idempotency_keys.expires_at <= excluded.created_at AND idempotency_keys.response_status IS NOT NULL
   RETURNING key`,
);
const RELEASE = sql('DELETE FROM idempotency_keys WHERE agent_key_id = ? AND key = ? AND transaction_id = ?');
const ANSWER = sql(
  `UPDATE idempotency_keys SET response_status = ?, response_body = ?
   WHERE agent_key_id = ? AND key = ? AND response_status IS NULL`,
);
/** Unanswered records stay: their key can always settle an unknown outcome (DESIGN §4). */
const SWEEP_RECORDS = sql(
  'DELETE FROM idempotency_keys WHERE expires_at <= ? AND response_status IS NOT NULL',
);

export function findIdempotency(conn: Conn, agentKeyId: string, key: string) {
  return conn.get(RECORD, [agentKeyId, key]);
}

export interface IdempotencyClaim {
  agentKeyId: string;
  key: string;
  requestHash: string;
  expiresAt: number;
}

/** True when this transaction now holds the key. */
export async function claimIdempotency(
  tx: Conn,
  c: IdempotencyClaim,
  transactionId: string,
  at: number,
): Promise<boolean> {
  const rows = await tx.all(CLAIM, [c.agentKeyId, c.key, c.requestHash, transactionId, at, c.expiresAt]);
  return rows.length > 0;
}

/** Gives the key back (its request was refused before it did anything). */
export async function releaseIdempotency(
  tx: Conn,
  c: IdempotencyClaim,
  transactionId: string,
): Promise<void> {
  await tx.run(RELEASE, [c.agentKeyId, c.key, transactionId]);
}

/** Stores the answer a replay returns; the first answer stays. */
export async function answerIdempotency(
  tx: Conn,
  agentKeyId: string,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await tx.run(ANSWER, [response.status, JSON.stringify(response.body), agentKeyId, key]);
}

export function sweepIdempotency(tx: Conn, now: number): Promise<number> {
  return tx.run(SWEEP_RECORDS, [now]);
}
