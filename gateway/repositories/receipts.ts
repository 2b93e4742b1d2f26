import { columns } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';

/** One signed receipt (DESIGN §9); `seq` is a version 1 receipt's place in its workspace's chain. */
export interface StoredReceipt {
  transactionId: string;
  workspaceId: string;
  seq: number | null;
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
// The primary key: a second receipt for one transaction is not written (0 rows) rather than an
// error that rolls the batch back.
const INSERT = sql(
  `INSERT INTO receipts (${R.list}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING transaction_id`,
);
const BY_TRANSACTION = sql(`SELECT ${R.list} FROM receipts WHERE transaction_id = ?`, toReceipt);

/** False when that transaction already has a receipt. */
export async function insertReceipt(tx: Conn, r: StoredReceipt): Promise<boolean> {
  const rows = await tx.all(INSERT, [r.transactionId, r.workspaceId, r.seq, r.jws, r.hash, r.createdAt]);
  return rows.length > 0;
}

export function getReceipt(conn: Conn, transactionId: string): Promise<StoredReceipt | undefined> {
  return conn.get(BY_TRANSACTION, [transactionId]);
}
