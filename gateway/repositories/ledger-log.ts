import type { NodeRef, StoredNode } from '../crypto/merkle.ts';
import { nodeKey } from '../crypto/merkle.ts';
import { type Conn, placeholders, sql } from '../db/types.ts';

/**
 * The ledger log's rows (DESIGN §9): the inbox the triggers fill (`ledger_queue`), the entries in
 * log order, the tree's complete subtrees and the signed checkpoints. Statements that take a list
 * are built for its length and chunked, so a batch of entries is a few statements, not one each.
 */

export type EntryKind = 'receipt' | 'audit';

/** A committed receipt or audit event waiting to be appended, with what its entry will hold. */
export interface Queued {
  id: number;
  kind: EntryKind;
  ref: string;
  createdAt: number;
  /** The receipt's JWS, or null when the row it names is gone. */
  jws: string | null;
  /** The audit event's hash, or null when the row it names is gone. */
  hash: string | null;
}

export interface LogEntry {
  index: number;
  kind: EntryKind;
  ref: string;
  jws: string | null;
  hash: string | null;
}

export interface StoredCheckpoint {
  workspaceId: string;
  size: number;
  root: string;
  jws: string;
  issuedAt: number;
}

const toCheckpoint = (r: unknown[]): StoredCheckpoint => ({
  workspaceId: r[0] as string,
  size: Number(r[1]),
  root: r[2] as string,
  jws: r[3] as string,
  issuedAt: Number(r[4]),
});
const toEntry = (r: unknown[]): LogEntry => ({
  index: Number(r[0]),
  kind: r[1] as EntryKind,
  ref: r[2] as string,
  jws: (r[3] as string | null) ?? null,
  hash: (r[4] as string | null) ?? null,
});

const CP = 'workspace_id, size, root, jws, issued_at';
const PENDING = sql('SELECT DISTINCT workspace_id FROM ledger_queue LIMIT ?', (r) => r[0] as string);
const QUEUED = sql(
  `SELECT q.id, q.kind, q.ref, q.created_at, r.jws, a.hash FROM ledger_queue q
   LEFT JOIN receipts r ON q.kind = 'receipt' AND r.transaction_id = q.ref
   LEFT JOIN audit_events a ON q.kind = 'audit' AND a.id = q.ref
   WHERE q.workspace_id = ? ORDER BY q.id LIMIT ?`,
  (r): Queued => ({
    id: Number(r[0]),
    kind: r[1] as EntryKind,
    ref: r[2] as string,
    createdAt: Number(r[3]),
    jws: (r[4] as string | null) ?? null,
    hash: (r[5] as string | null) ?? null,
  }),
);
// Seed 1: never the same lock as the workspace's own (seed 0), which admission takes.
const TRY_LOCK = sql('SELECT pg_try_advisory_xact_lock(hashtextextended(?::text, 1))', (r) => r[0] === true);
const HEAD = sql(
  `SELECT ${CP} FROM ledger_checkpoints WHERE workspace_id = ? ORDER BY size DESC LIMIT 1`,
  toCheckpoint,
);
const AT_SIZE = sql(`SELECT ${CP} FROM ledger_checkpoints WHERE workspace_id = ? AND size = ?`, toCheckpoint);
const ISSUED_BEFORE = sql(
  `SELECT ${CP} FROM ledger_checkpoints WHERE workspace_id = ? AND issued_at < ?
   ORDER BY issued_at DESC, size DESC LIMIT 1`,
  toCheckpoint,
);
const ENTRY_OF = sql('SELECT idx FROM ledger_entries WHERE workspace_id = ? AND kind = ? AND ref = ?', (r) =>
  Number(r[0]),
);
const ENTRIES = sql(
  `SELECT idx, kind, ref, jws, hash FROM ledger_entries WHERE workspace_id = ? AND idx >= ?
   ORDER BY idx LIMIT ?`,
  toEntry,
);
const AUDIT_ENTRIES = sql(
  `SELECT e.idx, e.ref, e.hash, a.hash FROM ledger_entries e
   LEFT JOIN audit_events a ON a.id = e.ref
   WHERE e.workspace_id = ? AND e.kind = 'audit' AND e.idx >= ? ORDER BY e.idx LIMIT ?`,
  (r) => ({
    index: Number(r[0]),
    id: r[1] as string,
    hash: r[2] as string,
    stored: (r[3] as string | null) ?? null,
  }),
);
const BACKLOG = sql('SELECT count(*), min(created_at) FROM ledger_queue', (r) => ({
  count: Number(r[0]),
  oldest: r[1] === null || r[1] === undefined ? null : Number(r[1]),
}));
const INSERT_CHECKPOINT = sql(`INSERT INTO ledger_checkpoints (${CP}) VALUES (?, ?, ?, ?, ?)`);

/** Rows per multi-row statement: well under either dialect's limit on bound parameters. */
const CHUNK = 200;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const rows = (n: number, width: number): string =>
  Array.from({ length: n }, () => `(${placeholders(width)})`).join(', ');

/** Workspaces with committed entries waiting ('' is the operator's log). */
export function pendingLogs(conn: Conn, limit: number): Promise<string[]> {
  return conn.all(PENDING, [limit]);
}

/** The oldest `limit` waiting entries of a log, in the order they were queued. */
export function queuedEntries(conn: Conn, workspaceId: string, limit: number): Promise<Queued[]> {
  return conn.all(QUEUED, [workspaceId, limit]);
}

/**
 * PostgreSQL: takes the log's sequencing lock if free, for the rest of `tx` (false: another replica
 * sequences it now). SQLite has one writer: always true.
 */
export async function trySequencerLock(tx: Conn, workspaceId: string): Promise<boolean> {
  if (tx.dialect !== 'postgres') return true;
  return (await tx.get(TRY_LOCK, [`ledger:${workspaceId}`])) === true;
}

/** Which of `refs` already have an entry (a queue row seen twice is appended once). */
export async function alreadyLogged(
  conn: Conn,
  workspaceId: string,
  refs: readonly { kind: EntryKind; ref: string }[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(refs)) {
    const where = part.map(() => '(kind = ? AND ref = ?)').join(' OR ');
    const statement = sql(
      `SELECT kind, ref FROM ledger_entries WHERE workspace_id = ? AND (${where})`,
      (r) => `${r[0]}:${r[1]}`,
    );
    const params = [workspaceId, ...part.flatMap((r) => [r.kind, r.ref])];
    for (const key of await conn.all(statement, params)) found.add(key);
  }
  return found;
}

/** Stored nodes by place (a map keyed by `nodeKey`), in one statement per chunk. */
export async function nodesAt(
  conn: Conn,
  workspaceId: string,
  refs: readonly NodeRef[],
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const part of chunks(refs)) {
    const where = part.map(() => '(level = ? AND idx = ?)').join(' OR ');
    const statement = sql(
      `SELECT level, idx, hash FROM ledger_nodes WHERE workspace_id = ? AND (${where})`,
      (r) => ({ key: nodeKey(Number(r[0]), Number(r[1])), hash: Buffer.from(r[2] as string, 'hex') }),
    );
    const params = [workspaceId, ...part.flatMap((r) => [r.level, r.index])];
    for (const { key, hash } of await conn.all(statement, params)) found.set(key, hash);
  }
  return found;
}

/** Appends a batch: its entries, the nodes they complete, its checkpoint; drops their queue rows. */
export async function writeBatch(
  tx: Conn,
  batch: {
    workspaceId: string;
    entries: readonly LogEntry[];
    nodes: readonly StoredNode[];
    checkpoint: StoredCheckpoint;
    queueIds: readonly number[];
    at: number;
  },
): Promise<void> {
  const ws = batch.workspaceId;
  const writes: Promise<unknown>[] = [];
  for (const part of chunks(batch.entries)) {
    const statement = sql(
      `INSERT INTO ledger_entries (workspace_id, idx, kind, ref, jws, hash, appended_at) VALUES ${rows(part.length, 7)}`,
    );
    writes.push(
      tx.run(
        statement,
        part.flatMap((e) => [ws, e.index, e.kind, e.ref, e.jws, e.hash, batch.at]),
      ),
    );
  }
  for (const part of chunks(batch.nodes)) {
    const statement = sql(
      `INSERT INTO ledger_nodes (workspace_id, level, idx, hash) VALUES ${rows(part.length, 4)}`,
    );
    writes.push(
      tx.run(
        statement,
        part.flatMap((n) => [ws, n.level, n.index, n.hash.toString('hex')]),
      ),
    );
  }
  for (const part of chunks(batch.queueIds)) {
    writes.push(tx.run(sql(`DELETE FROM ledger_queue WHERE id IN (${placeholders(part.length)})`), part));
  }
  const c = batch.checkpoint;
  writes.push(tx.run(INSERT_CHECKPOINT, [c.workspaceId, c.size, c.root, c.jws, c.issuedAt]));
  // Independent statements, sent together (pipelined on PostgreSQL).
  await Promise.all(writes);
}

/** Drops queue rows that name nothing any more (their entry is written, or the row is gone). */
export async function dropQueued(tx: Conn, ids: readonly number[]): Promise<void> {
  for (const part of chunks(ids)) {
    await tx.run(sql(`DELETE FROM ledger_queue WHERE id IN (${placeholders(part.length)})`), part);
  }
}

export function newestCheckpoint(conn: Conn, workspaceId: string): Promise<StoredCheckpoint | undefined> {
  return conn.get(HEAD, [workspaceId]);
}

export function checkpointAt(
  conn: Conn,
  workspaceId: string,
  size: number,
): Promise<StoredCheckpoint | undefined> {
  return conn.get(AT_SIZE, [workspaceId, size]);
}

/** The newest checkpoint signed before `at` (a period's end). */
export function checkpointBefore(
  conn: Conn,
  workspaceId: string,
  at: number,
): Promise<StoredCheckpoint | undefined> {
  return conn.get(ISSUED_BEFORE, [workspaceId, at]);
}

/** The leaf index of a receipt's or audit event's entry (undefined: not appended yet). */
export function entryIndex(
  conn: Conn,
  workspaceId: string,
  kind: EntryKind,
  ref: string,
): Promise<number | undefined> {
  return conn.get(ENTRY_OF, [workspaceId, kind, ref]);
}

/** Entries `start`… in log order, at most `limit`. */
export function entriesFrom(
  conn: Conn,
  workspaceId: string,
  start: number,
  limit: number,
): Promise<LogEntry[]> {
  return conn.all(ENTRIES, [workspaceId, start, limit]);
}

/** Audit entries from `start` with the hash their event has now (null: the event is gone). */
export function auditEntriesFrom(conn: Conn, workspaceId: string, start: number, limit: number) {
  return conn.all(AUDIT_ENTRIES, [workspaceId, start, limit]);
}

/** Entries committed and not yet appended, all logs, and when the oldest was written. */
export function ledgerBacklog(conn: Conn): Promise<{ count: number; oldest: number | null }> {
  return conn.get(BACKLOG).then((b) => b ?? { count: 0, oldest: null });
}
