/**
 * The one database primitive services build on (STYLE 12): `db.transaction(scope, (tx) => …)` and
 * autocommit reads on `db.reader`. Repositories take a `Conn` (a transaction or the reader) and only
 * read and write through it; both dialects answer the same statements.
 */

/** A statement written once, as SQL with `?` placeholders, and how one of its rows (an array) maps. */
export interface Statement<R> {
  readonly text: string;
  readonly map: (row: unknown[]) => R;
}

const asIs = <R>(row: unknown[]) => row as R;

/**
 * Declares a statement. Its text is the cache key: each connection prepares it once (SQLite) or
 * names it once (PostgreSQL) and reuses it. Rows come back as arrays, so select named columns,
 * never `*`, through a select list (`columns()` / `select()` in schema/columns.ts) whose `map`
 * hands the mapper the row by name.
 */
export function sql<R = unknown[]>(text: string, map: (row: unknown[]) => R = asIs): Statement<R> {
  return { text, map };
}

/** `?, ?, ?` for a list bound to an `IN (…)`. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export type Dialect = 'sqlite' | 'postgres';

export interface Conn {
  readonly dialect: Dialect;
  all<R>(statement: Statement<R>, params?: readonly unknown[]): Promise<R[]>;
  get<R>(statement: Statement<R>, params?: readonly unknown[]): Promise<R | undefined>;
  /** Runs a statement without rows to read; answers how many rows it changed. */
  run(statement: Statement<unknown>, params?: readonly unknown[]): Promise<number>;
  /**
   * In a batch whose jobs run one after another (a workspace scope on PostgreSQL): the statements
   * later jobs must see have been sent, so the next job may start while this one waits for their
   * results (statements run in the order sent on the batch's one connection). Absent elsewhere.
   */
  handOff?(): void;
}

/**
 * What a write transaction serialises with (DESIGN §8):
 * - `{ workspaceId }`: every other transaction of that workspace, on every replica (admission,
 *   votes, policy versions: steps that read shared state, then write);
 * - `{ key }`: other transactions of the same key (one hot row, such as a rate counter);
 * - `{}`: nothing more than the atomicity of its own statements (sweeps, conditional updates).
 * On SQLite one writer serialises everything; on PostgreSQL a workspace scope takes an advisory
 * lock. Transactions of one scope that arrive together share one commit (group commit).
 */
export type TxScope = { workspaceId: string } | { key: string } | { rows: string } | Record<string, never>;

/**
 * The scope of a write that takes no lock but touches a workspace's hot rows (its roll-ups and spend
 * buckets, kept by triggers and settlement). On PostgreSQL such batches run in a few lanes per
 * process, shared by every workspace, each lane one batch at a time (its jobs at once, their
 * statements pipelined: they need only the atomicity of their own conditional statements), and
 * each lane adding to counter rows of its own shard: two batches in flight never share a hot row,
 * so they neither queue on one nor deadlock over two (which PostgreSQL detects only after
 * deadlock_timeout, 1 s), one busy workspace is not held to one batch in flight, and load spread
 * over many workspaces batches as well as on one. It waits for no other replica (DESIGN §8).
 */
export const workspaceRows = (workspaceId: string): TxScope => ({ rows: workspaceId });

export interface Db {
  readonly dialect: Dialect;
  /** Autocommit reads of committed data. */
  readonly reader: Conn;
  /**
   * Runs `fn` in one atomic write transaction and resolves once it is durable. `fn` may run more
   * than once (its batch failed on another job): it must only read and write through `tx`.
   */
  transaction<T>(scope: TxScope, fn: (tx: Conn) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** Waits for the writes under way, then closes. */
  close(): Promise<void>;
}
