import { columns } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';

/** One signed receipt (DESIGN §9) and its place in its workspace's chain. */
export interface StoredReceipt {
  transactionId: string;
  workspaceId: string;
  seq: number;
  jws: string;
  hash: string;
  createdAt: number;
}

const R = columns('receipts', ['transaction_id', 'workspace_id', 'seq', 'jws', 'hash', 'created_at']);
const toReceipt = (raw: unknown[]): StoredReceipt => {
  const {
    transaction_id: transactionId,
    workspace_id: workspaceId,
    seq,
    jws,
    hash,
    created_at: createdAt,
  } = R.row(raw);
  return { transactionId, workspaceId, seq, jws, hash, createdAt };
};
const LINK = columns('receipts', ['seq', 'hash']);
const HEAD = sql(
  `SELECT ${LINK.list} FROM receipts WHERE workspace_id = ? ORDER BY seq DESC LIMIT 1`,
  LINK.map((r) => ({ seq: Number(r.seq), hash: r.hash })),
);
// Unique (workspace_id, seq) and the primary key: a second receipt at one place in the chain, or
// for one transaction, is not written (0 rows) rather than an error that rolls the batch back.
const INSERT = sql(
  `INSERT INTO receipts (${R.list}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq`,
);
const BY_TRANSACTION = sql(`SELECT ${R.list} FROM receipts WHERE transaction_id = ?`, toReceipt);
const AT = sql(`SELECT ${R.list} FROM receipts WHERE workspace_id = ? AND seq = ?`, toReceipt);
const PAGE = sql(
  `SELECT ${R.list} FROM receipts WHERE workspace_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
  toReceipt,
);

/** The newest receipt's place and hash in the workspace's chain (undefined: none yet). */
export function receiptHead(
  conn: Conn,
  workspaceId: string,
): Promise<{ seq: number; hash: string } | undefined> {
  return conn.get(HEAD, [workspaceId]);
}

/** False when that place in the chain, or that transaction, already has a receipt. */
export async function insertReceipt(tx: Conn, r: StoredReceipt): Promise<boolean> {
  const rows = await tx.all(INSERT, [r.transactionId, r.workspaceId, r.seq, r.jws, r.hash, r.createdAt]);
  return rows.length > 0;
}

export function getReceipt(conn: Conn, transactionId: string): Promise<StoredReceipt | undefined> {
  return conn.get(BY_TRANSACTION, [transactionId]);
}

export function receiptAt(conn: Conn, workspaceId: string, seq: number): Promise<StoredReceipt | undefined> {
  return conn.get(AT, [workspaceId, seq]);
}

/** The chain in order, `limit` receipts after place `after` (verification walks it page by page). */
export function receiptsAfter(
  conn: Conn,
  workspaceId: string,
  after: number,
  limit: number,
): Promise<StoredReceipt[]> {
  return conn.all(PAGE, [workspaceId, after, limit]);
}
