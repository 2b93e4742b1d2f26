import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'libsql';
import { GroupCommit } from '../group-commit.ts';
import { type Conn, type Db, type Statement, sql } from '../types.ts';
import { startCheckpointer } from './checkpointer.ts';
import { migrateSqlite } from './migrate.ts';

type Native = InstanceType<typeof Database>;
type NativeStatement = Database.Statement<unknown[]>;

const PING = sql('SELECT 1');
/** WAL pages after which the writer checkpoints itself, should the worker fall behind (~40 MB). */
const BACKSTOP_PAGES = 10_000;

/** Prepared statements one connection keeps (the gateway has a fixed set; lists vary a little). */
const MAX_STATEMENTS = 1_000;

/**
 * A native libSQL connection (the engine under @libsql/client, called directly and synchronously):
 * every statement is prepared once per connection and kept by its text (STYLE 14), rows come back
 * as arrays and are mapped by the statement. Preparing costs ~20× running a prepared statement,
 * and the client's async wrapper several times more; an indexed read here is a few microseconds.
 */
export class NativeConn implements Conn {
  readonly dialect = 'sqlite' as const;
  readonly #rows = new Map<string, NativeStatement>();
  readonly #writes = new Map<string, NativeStatement>();

  constructor(readonly native: Native) {}

  #prepare(cache: Map<string, NativeStatement>, text: string, raw: boolean): NativeStatement {
    // A prepared statement outlives its closed connection in libsql: refuse instead of running it.
    if (!this.native.open) throw new Error('The database connection is closed.');
    let statement = cache.get(text);
    if (statement === undefined) {
      statement = this.native.prepare(text) as NativeStatement;
      if (raw) statement.raw(true);
      if (cache.size >= MAX_STATEMENTS) cache.clear();
      cache.set(text, statement);
    }
    return statement;
  }

  async all<R>(statement: Statement<R>, params: readonly unknown[] = []): Promise<R[]> {
    const rows = this.#prepare(this.#rows, statement.text, true).all(...(params as unknown[])) as unknown[][];
    return rows.map(statement.map);
  }

  async get<R>(statement: Statement<R>, params: readonly unknown[] = []): Promise<R | undefined> {
    const row = this.#prepare(this.#rows, statement.text, true).get(...(params as unknown[])) as
      | unknown[]
      | undefined;
    return row === undefined ? undefined : statement.map(row);
  }

  async run(statement: Statement<unknown>, params: readonly unknown[] = []): Promise<number> {
    return this.#prepare(this.#writes, statement.text, false).run(...(params as unknown[])).changes;
  }

  /** For the transaction runner: BEGIN/COMMIT/ROLLBACK, prepared once too. */
  exec(text: string): void {
    this.#prepare(this.#writes, text, false).run();
  }
}

export interface SqliteOptions {
  /** `file:<path>` (a plain path works too). */
  url: string;
  /** Apply migrations before use (the default); `warden migrate` runs them alone. */
  migrate?: boolean;
  /** Observes each group commit's size. */
  onBatch?: (size: number) => void;
}

export interface SqliteDb extends Db {
  readonly dialect: 'sqlite';
  /** The path of the database file, or `:memory:`. */
  readonly path: string;
}

/** The path in `file:<path>[?…]`. */
export function sqlitePath(url: string): string {
  const path = (url.startsWith('file:') ? url.slice('file:'.length) : url).split('?')[0] ?? '';
  return path === '' ? ':memory:' : path;
}

/**
 * The embedded database (DESIGN §8): WAL with synchronous=NORMAL (a commit survives a process crash
 * without an fsync of its own), one writer connection fed by group commit, one reader connection
 * for autocommit reads of committed data. Calls are synchronous and short; a transaction callback
 * runs on the writer while nothing else can, so it never interleaves with another.
 */
export async function openSqlite(options: SqliteOptions): Promise<SqliteDb> {
  const path = sqlitePath(options.url);
  if (path === ':memory:') {
    throw new Error('An in-memory SQLite database is not supported: set DATABASE_URL to a file: path.');
  }
  mkdirSync(dirname(resolve(path)), { recursive: true });
  const open = () => {
    const native = new Database(path);
    // Another process (warden migrate, a second gateway on the file) waits for the lock, not fails.
    native.exec('PRAGMA busy_timeout = 5000');
    native.exec('PRAGMA foreign_keys = ON');
    return native;
  };
  if (options.migrate !== false) await migrateSqlite(`file:${path}`);
  const writerNative = open();
  writerNative.exec('PRAGMA journal_mode = WAL');
  writerNative.exec('PRAGMA synchronous = NORMAL');
  // A worker checkpoints; the writer's own automatic checkpoint is the backstop (see checkpointer.ts).
  const checkpointer = startCheckpointer(path);
  writerNative.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  const writer = new NativeConn(writerNative);
  const reader = new NativeConn(open());

  const commits = new GroupCommit<Conn>(
    {
      async transaction(fn) {
        writer.exec('BEGIN IMMEDIATE');
        try {
          const value = await fn(writer);
          writer.exec('COMMIT');
          return value;
        } catch (error) {
          if (writerNative.inTransaction) writer.exec('ROLLBACK');
          throw error;
        }
      },
    },
    256,
    options.onBatch,
  );

  // Autocommit reads go to the writer connection: its page cache stays valid across its own
  // commits, while the second connection must reload pages after every one (the config-version
  // read costs ~16 us there against ~19 us, measured under load). Between BEGIN and COMMIT the writer
  // would show a batch's uncommitted writes; a batch only awaits its own synchronous statements,
  // so nothing else runs then, but should one ever wait on something else, reads use the second
  // connection meanwhile.
  const committed: Conn = {
    dialect: 'sqlite',
    all: (statement, params) => (commits.busy ? reader : writer).all(statement, params),
    get: (statement, params) => (commits.busy ? reader : writer).get(statement, params),
    run: (statement, params) => (commits.busy ? reader : writer).run(statement, params),
  };

  return {
    dialect: 'sqlite',
    path,
    reader: committed,
    transaction: (_scope, fn) => commits.run(fn),
    async ping() {
      await reader.get(PING);
    },
    async close() {
      await commits.drained();
      await checkpointer.close();
      reader.native.close();
      writerNative.close();
    },
  };
}
