import type { NodeRef, StoredNode } from '../crypto/merkle.ts';
import { nodeKey } from '../crypto/merkle.ts';
import { columns, only, onlyNumber, select } from '../db/schema/columns.ts';
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
  /** The log already has an entry for it (a queue row seen twice is appended once). */
  logged: boolean;
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

const C = columns('ledger_checkpoints', ['workspace_id', 'size', 'root', 'jws', 'issued_at']);
const toCheckpoint = C.map(
  (r): StoredCheckpoint => ({
    workspaceId: r.workspace_id,
    size: Number(r.size),
    root: r.root,
    jws: r.jws,
    issuedAt: Number(r.issued_at),
  }),
);
const E = columns('ledger_entries', ['idx', 'kind', 'ref', 'jws', 'hash']);
const toEntry = E.map(
  (r): LogEntry => ({
    index: Number(r.idx),
    kind: r.kind,
    ref: r.ref,
    jws: r.jws ?? null,
    hash: r.hash ?? null,
  }),
);

const CP = C.list;
const PENDING = sql('SELECT DISTINCT workspace_id FROM ledger_queue LIMIT ?', only<string>);
/**
 * The oldest waiting rows of a log with what their entries will hold. Correlated subqueries, not
 * joins: each is an equality on a whole unique key, so both dialects answer it with one index seek
 * per queue row whatever their statistics say (a join let PostgreSQL hash all audit events, and an
 * OR of (kind, ref) pairs let SQLite walk every entry of the log: a batch's cost grew with the log).
 */
const Q = select({
  id: 'q.id',
  kind: 'q.kind',
  ref: 'q.ref',
  created_at: 'q.created_at',
  jws: "(SELECT r.jws FROM receipts r WHERE q.kind = 'receipt' AND r.transaction_id = q.ref)",
  hash: "(SELECT a.hash FROM audit_events a WHERE q.kind = 'audit' AND a.id = q.ref)",
  // A scalar subquery, not EXISTS: PostgreSQL may answer EXISTS by hashing the whole table.
  logged_at: `(SELECT e.idx FROM ledger_entries e
     WHERE e.workspace_id = q.workspace_id AND e.kind = q.kind AND e.ref = q.ref)`,
});
const QUEUED = sql(
  `SELECT ${Q.list} FROM ledger_queue q WHERE q.workspace_id = ? ORDER BY q.id LIMIT ?`,
  Q.map(
    (r): Queued => ({
      id: Number(r.id),
      kind: r.kind as EntryKind,
      ref: r.ref as string,
      createdAt: Number(r.created_at),
      jws: (r.jws as string | null) ?? null,
      hash: (r.hash as string | null) ?? null,
      logged: r.logged_at !== null && r.logged_at !== undefined,
    }),
  ),
);
/** The sequencer's per-batch read, for the test that pins its query plan (test/ledger/plans.test.ts). */
export const QUEUED_STATEMENT = QUEUED.text;
// Seed 1: never the same lock as the workspace's own (seed 0), which admission takes.
const TRY_LOCK = sql(
  'SELECT pg_try_advisory_xact_lock(hashtextextended(?::text, 1))',
  (r) => only(r) === true,
);
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
const ENTRY_OF = sql(
  'SELECT idx FROM ledger_entries WHERE workspace_id = ? AND kind = ? AND ref = ?',
  onlyNumber,
);
const ENTRIES = sql(
  `SELECT ${E.list} FROM ledger_entries WHERE workspace_id = ? AND idx >= ?
   ORDER BY idx LIMIT ?`,
  toEntry,
);
const AE = select({ index: 'e.idx', id: 'e.ref', hash: 'e.hash', stored: 'a.hash' });
const AUDIT_ENTRIES = sql(
  `SELECT ${AE.list} FROM ledger_entries e
   LEFT JOIN audit_events a ON a.id = e.ref
   WHERE e.workspace_id = ? AND e.kind = 'audit' AND e.idx >= ? ORDER BY e.idx LIMIT ?`,
  AE.map((r) => ({
    index: Number(r.index),
    id: r.id as string,
    hash: r.hash as string,
    stored: (r.stored as string | null) ?? null,
  })),
);
const B = select({ count: 'count(*)', oldest: 'min(created_at)' });
const BACKLOG = sql(
  `SELECT ${B.list} FROM ledger_queue`,
  B.map((r) => ({
    count: Number(r.count),
    oldest: r.oldest === null || r.oldest === undefined ? null : Number(r.oldest),
  })),
);
const N = columns('ledger_nodes', ['level', 'idx', 'hash']);
const INSERT_CHECKPOINT = sql(`INSERT INTO ledger_checkpoints (${CP}) VALUES (?, ?, ?, ?, ?)`);

/**
 * Rows per multi-row statement, largest first: a list is cut into pieces of these sizes only, so
 * each statement has at most four texts (each prepared once per connection and kept), not one per
 * list length; 64 rows stay well under either dialect's limit on bound parameters.
 */
const CHUNKS = [64, 16, 4, 1];

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  let i = 0;
  for (const size of CHUNKS) {
    while (items.length - i >= size) {
      out.push(items.slice(i, i + size));
      i += size;
    }
  }
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

const NODE_AT = `SELECT ${N.list} FROM ledger_nodes WHERE workspace_id = ? AND level = ? AND idx = ?`;
/** What `nodesAt` sends for `count` places (its plan is pinned by a test). */
export const nodesAtText = (count: number): string =>
  Array.from({ length: count }, () => NODE_AT).join(' UNION ALL ');

/**
 * Stored nodes by place (a map keyed by `nodeKey`), in one statement per chunk: a seek per node on
 * the whole primary key, joined by UNION ALL. (Places joined by OR were answered by SQLite with a
 * walk of every node of the workspace: a sequencer batch then cost more as the log grew, and a
 * 60 s run at full load fell from 1,450 to 650 executes/s.)
 */
export async function nodesAt(
  conn: Conn,
  workspaceId: string,
  refs: readonly NodeRef[],
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const part of chunks(refs)) {
    const statement = sql(
      nodesAtText(part.length),
      N.map((r) => ({ key: nodeKey(Number(r.level), Number(r.idx)), hash: Buffer.from(r.hash, 'hex') })),
    );
    const params = part.flatMap((r) => [workspaceId, r.level, r.index]);
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
  writes.push(dropQueued(tx, batch.queueIds));
  const c = batch.checkpoint;
  writes.push(tx.run(INSERT_CHECKPOINT, [c.workspaceId, c.size, c.root, c.jws, c.issuedAt]));
  // Independent statements, sent together (pipelined on PostgreSQL).
  await Promise.all(writes);
}

/** Drops queue rows that name nothing any more (their entry is written, or the row is gone). */
export async function dropQueued(tx: Conn, ids: readonly number[]): Promise<void> {
  await Promise.all(
    chunks(ids).map((part) =>
      tx.run(sql(`DELETE FROM ledger_queue WHERE id IN (${placeholders(part.length)})`), part),
    ),
  );
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
