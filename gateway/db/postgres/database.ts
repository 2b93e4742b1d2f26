import postgres from 'postgres';
import { GroupCommit } from '../group-commit.ts';
import { type Conn, type Db, type Statement, sql, type TxScope } from '../types.ts';
import { migratePostgres, schemaFromUrl } from './migrate.ts';

/** `?` placeholders → `$1, $2, …`, outside string literals, once per statement text. */
const translated = new Map<string, string>();
export function toPostgres(text: string): string {
  let out = translated.get(text);
  if (out !== undefined) return out;
  let n = 0;
  let quoted = false;
  out = '';
  for (const c of text) {
    if (c === "'") quoted = !quoted;
    out += c === '?' && !quoted ? `$${++n}` : c;
  }
  if (translated.size > 2_000) translated.clear();
  translated.set(text, out);
  return out;
}

/** A pooled client or a transaction: statements go as named prepared statements, rows as arrays. */
class PgConn implements Conn {
  readonly dialect = 'postgres' as const;
  constructor(private readonly client: postgres.Sql | postgres.TransactionSql) {}

  #query(statement: Statement<unknown>, params: readonly unknown[]) {
    return this.client.unsafe(toPostgres(statement.text), params as postgres.ParameterOrJSON<never>[], {
      prepare: true,
    });
  }

  async all<R>(statement: Statement<R>, params: readonly unknown[] = []): Promise<R[]> {
    const rows = (await this.#query(statement, params).values()) as unknown[][];
    return rows.map(statement.map);
  }

  async get<R>(statement: Statement<R>, params: readonly unknown[] = []): Promise<R | undefined> {
    const [row] = (await this.#query(statement, params).values()) as unknown[][];
    return row === undefined ? undefined : statement.map(row);
  }

  async run(statement: Statement<unknown>, params: readonly unknown[] = []): Promise<number> {
    return (await this.#query(statement, params)).count;
  }
}

const LOCK = sql('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))');
const PING = sql('SELECT 1');

/** Deadlock and serialization failures roll the whole transaction back; it is safe to run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const isRetryable = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
};

export interface PostgresOptions {
  /** `postgres://…`; `?options=-c search_path=<schema>` (libpq style) selects a schema too. */
  url: string;
  migrate?: boolean;
  /** The schema to use (created if missing); overrides a search_path in the URL. */
  schema?: string;
  /** Pool size per process (default 10, or `?max=` in the URL). */
  max?: number;
  onBatch?: (size: number) => void;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** int8 (times, money, counts) and numeric (sums) come back as JS numbers, as on SQLite. */
const NUMBERS = {
  int8: { to: 20, from: [20], parse: (x: string) => Number(x), serialize: (x: number) => String(x) },
  numeric: { to: 1700, from: [1700], parse: (x: string) => Number(x), serialize: (x: number) => String(x) },
};

/**
 * PostgreSQL (DESIGN §8: many replicas, one database). A transaction with a workspace scope takes
 * that workspace's advisory lock (held to commit), so admission-like steps of one workspace run one
 * at a time across every replica; those of one scope queued together in this process share one
 * transaction, so the lock and the commit's WAL flush are paid once per batch.
 */
export async function openPostgres(options: PostgresOptions): Promise<Db> {
  const schema = options.schema ?? schemaFromUrl(options.url);
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`Invalid PostgreSQL schema name ${JSON.stringify(schema)}.`);
  }
  // postgres.js reads `?max=` from the URL as a string; give it the number.
  const max = options.max ?? (Number(new URL(options.url).searchParams.get('max')) || undefined);
  const clientOptions: postgres.Options<Record<string, postgres.PostgresType>> = {
    onnotice: () => {},
    types: NUMBERS,
    ...(max ? { max } : {}),
    ...(options.schema ? { connection: { search_path: options.schema } } : {}),
  };
  if (options.migrate !== false) await migratePostgres(options.url, clientOptions, schema);
  const client = postgres(options.url, clientOptions);
  const reader = new PgConn(client);
  const scopes = new Map<string, { commits: GroupCommit<Conn>; pending: number }>();
  const inflight = new Set<Promise<unknown>>();

  const runner = (lock: string | undefined) => ({
    transaction: <T>(fn: (conn: Conn) => Promise<T>) =>
      client.begin(async (tx) => {
        const conn = new PgConn(tx);
        if (lock !== undefined) await conn.run(LOCK, [lock]);
        return fn(conn);
      }) as Promise<T>,
  });
  const alone = runner(undefined);

  function batched<T>(scope: TxScope, fn: (tx: Conn) => Promise<T>): Promise<T> {
    if (!('workspaceId' in scope) && !('key' in scope)) return alone.transaction(fn);
    const id = 'workspaceId' in scope ? `ws:${scope.workspaceId}` : `key:${scope.key}`;
    let entry = scopes.get(id);
    if (!entry) {
      const lock = 'workspaceId' in scope ? scope.workspaceId : undefined;
      entry = { commits: new GroupCommit<Conn>(runner(lock), 256, options.onBatch), pending: 0 };
      scopes.set(id, entry);
    }
    const current = entry;
    current.pending++;
    return current.commits.run(fn).finally(() => {
      if (--current.pending === 0 && scopes.get(id) === current) scopes.delete(id);
    });
  }

  return {
    dialect: 'postgres',
    reader,
    async transaction(scope, fn) {
      for (let attempt = 1; ; attempt++) {
        const running = batched(scope, fn);
        inflight.add(running);
        try {
          return await running;
        } catch (error) {
          // A deadlock with a transaction outside the scopes (a sweep) rolled this one back: again.
          if (attempt >= 3 || !isRetryable(error)) throw error;
        } finally {
          inflight.delete(running);
        }
      }
    },
    async ping() {
      await reader.get(PING);
    },
    async close() {
      await Promise.allSettled([...inflight]);
      await client.end({ timeout: 5 });
    },
  };
}
