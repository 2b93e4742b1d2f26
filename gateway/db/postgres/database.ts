import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { GroupCommit } from '../group-commit.ts';
import { loopHeadroom } from '../loop-headroom.ts';
import { type Conn, type Db, type Statement, sql, type TxScope } from '../types.ts';
import { CommitUnknown, databaseUnavailable, isConnectionLoss } from './connection-loss.ts';
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

/** A reserved connection inside a transaction: statements go as named prepared statements, rows as arrays. */
class PgConn implements Conn {
  readonly dialect = 'postgres' as const;
  constructor(private readonly client: postgres.ISql) {}

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

/** Pauses before a read or a transaction is tried again on a fresh connection (about 1 s in all). */
const RECONNECT_BACKOFF_MS = [20, 100, 300, 600];

/**
 * The pool's autocommit connection. A read that lost its connection is tried again on a fresh one
 * (reads change nothing); an autocommit write is not (it may have committed), and both answer
 * DATABASE_UNAVAILABLE once the server cannot be reached (DESIGN §8).
 */
class PooledConn implements Conn {
  readonly dialect = 'postgres' as const;
  readonly #conn: PgConn;
  constructor(client: postgres.Sql) {
    this.#conn = new PgConn(client);
  }

  async #read<T>(read: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await read();
      } catch (error) {
        const pause = RECONNECT_BACKOFF_MS[attempt];
        if (!isConnectionLoss(error)) throw error;
        if (pause === undefined) throw databaseUnavailable(error);
        await sleep(pause);
      }
    }
  }

  all<R>(statement: Statement<R>, params?: readonly unknown[]): Promise<R[]> {
    return this.#read(() => this.#conn.all(statement, params));
  }

  get<R>(statement: Statement<R>, params?: readonly unknown[]): Promise<R | undefined> {
    return this.#read(() => this.#conn.get(statement, params));
  }

  async run(statement: Statement<unknown>, params?: readonly unknown[]): Promise<number> {
    try {
      return await this.#conn.run(statement, params);
    } catch (error) {
      throw isConnectionLoss(error) ? databaseUnavailable(error) : error;
    }
  }
}

/** A SQL string literal (doubled quotes): for the one value spliced into a simple query, a workspace id. */
const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;
/** Batches of unscoped transactions that may be in flight at once (each holds a connection). */
const UNSCOPED_LANES = 2;
const PING = sql('SELECT 1');

/** /ready's ping gives up after this long: a server that does not answer is not ready. */
const PING_TIMEOUT_MS = 2_000;

/**
 * Which counter rows this process writes on PostgreSQL (0 is rows from before shards): its own
 * block of int4 shards, the first for its connections' default and one per lane of hot-row writes
 * (`workspaceRows`). Stable for the process, so a minute's bucket has a row per process and lane
 * used, not per batch.
 */
const SHARD_BLOCK = 16;
const PROCESS_SHARD = randomInt(1, 2 ** 31 / SHARD_BLOCK - 1) * SHARD_BLOCK;
/** Lanes for hot-row writes per process: batches in flight at once, each adding to its own shard. */
const ROW_LANES = 4;

/**
 * A scoped batch's connection for one job, with its `handOff` (Conn.handOff): under a workspace's
 * lock an admission's reads then go out with the previous admission's writes, one round trip per
 * admission instead of two while the lock is held.
 */
const withHandOff = (conn: Conn, handOff: () => void): Conn => ({
  dialect: conn.dialect,
  all: (statement, params) => conn.all(statement, params),
  get: (statement, params) => conn.get(statement, params),
  run: (statement, params) => conn.run(statement, params),
  handOff,
});

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
  /** How long each scoped transaction held its workspace's lock (granted → committed), in seconds. */
  onLockHeld?: (seconds: number) => void;
  /**
   * Whether the event loop has time to spare, asked before a hot-row write opens another batch
   * beside one committing (default: its utilisation over the last 100 ms is below 85%).
   */
  headroom?: () => boolean;
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
  const inUrl = new URL(options.url).searchParams;
  const clientOptions: postgres.Options<Record<string, postgres.PostgresType>> = {
    onnotice: () => {},
    types: NUMBERS,
    ...(max ? { max } : {}),
    // A server that does not answer fails a request in seconds, not the driver's 30 s.
    ...(inUrl.has('connect_timeout') ? {} : { connect_timeout: 5 }),
    // After failed connection attempts the driver waits before the next one, by default up to 20 s:
    // a server back from a failover would then sit unused that long. At most a second instead.
    ...(inUrl.has('backoff') ? {} : { backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) }),
    // pg_stat_activity names the gateway's connections (`?application_name=` in the URL wins).
    connection: {
      application_name: 'warden',
      // This process's counter rows (spend buckets, roll-ups: their `shard` column): replicas then
      // never queue on, nor deadlock over, one hot row when they settle outcomes (DESIGN §8).
      'warden.shard': String(PROCESS_SHARD),
      ...(options.schema ? { search_path: options.schema } : {}),
    },
  };
  if (options.migrate !== false) await migratePostgres(options.url, clientOptions, schema);
  const client = postgres(options.url, clientOptions);
  const reader = new PooledConn(client);
  const scopes = new Map<string, { commits: GroupCommit<Conn>; pending: number }>();
  const rowLanes: GroupCommit<Conn>[] = [];
  const hasHeadroom = options.headroom ?? loopHeadroom();
  const inflight = new Set<Promise<unknown>>();

  const runner = (lock: string | undefined, shard?: number) => ({
    async transaction<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
      const reserved = await client.reserve();
      const conn = new PgConn(reserved);
      // BEGIN goes out at once, pipelined with the first statements instead of costing a round trip
      // of its own: .execute() sends it now, before anything the transaction sends after it. A
      // workspace's lock travels in the same simple query, so it is taken inside the transaction;
      // it is not awaited: the server runs a connection's statements in order, so nothing the
      // transaction sends after it runs before the lock is held, and no round trip waits for it.
      // A lane's shard travels the same way.
      let held = 0;
      const opened = reserved
        .unsafe(
          lock !== undefined
            ? `BEGIN; SELECT pg_advisory_xact_lock(hashtextextended(${literal(lock)}, 0))`
            : shard !== undefined
              ? `BEGIN; SET LOCAL warden.shard = ${shard}`
              : 'BEGIN',
        )
        .execute()
        .then((rows) => {
          held = performance.now();
          return rows;
        });
      opened.catch(() => undefined);
      let committing = false;
      try {
        const value = await fn(conn);
        await opened;
        committing = true;
        await reserved.unsafe('COMMIT');
        if (lock !== undefined) options.onLockHeld?.((performance.now() - held) / 1000);
        return value;
      } catch (error) {
        // A connection lost before COMMIT went out took the transaction with it (the server rolls
        // back): it may run again. Lost while committing, nobody knows whether it committed.
        if (committing && isConnectionLoss(error)) throw new CommitUnknown(error);
        await reserved.unsafe('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        reserved.release();
      }
    },
  });
  const alone = runner(undefined);

  /**
   * The lane a job joins: the first not committing, or while every one commits the least loaded.
   * On a saturated loop the first lane: one batch forms while one commits. More batches in flight
   * overlap the database's round trips only when the loop has time to spare; on a saturated one
   * they split the work into smaller batches, each paying its own round trips and socket writes
   * (one lane gave 15-35% more executes/s there, measured).
   */
  function laneOf(of: GroupCommit<Conn>[]): GroupCommit<Conn> {
    if (!hasHeadroom()) return of[0] as GroupCommit<Conn>;
    return of.find((l) => !l.busy) ?? of.reduce((a, b) => (b.pending < a.pending ? b : a));
  }

  // Unscoped transactions need only the atomicity of their own conditional statements: they share
  // batches whose jobs run at once (statements pipelined on one connection), over a few lanes so
  // several batches can be in flight on different connections.
  const lanes = Array.from(
    { length: UNSCOPED_LANES },
    () => new GroupCommit<Conn>(alone, 256, options.onBatch, true),
  );

  // Hot-row writes, whichever workspace they are of: lane 0 alone at low load, a new lane while
  // every one is committing and the loop has time to spare (`laneOf` then picks it). Lanes are the
  // process's, not a workspace's: load spread over many workspaces batches as well as the same load
  // on one, instead of opening lanes per workspace that wait for the pool's connections and commit
  // small batches each.
  function inRowLane<T>(fn: (tx: Conn) => Promise<T>): Promise<T> {
    const opening =
      rowLanes.length === 0 ||
      (rowLanes.length < ROW_LANES && rowLanes.every((l) => l.busy) && hasHeadroom());
    if (opening) {
      const shard = PROCESS_SHARD + 1 + rowLanes.length;
      rowLanes.push(new GroupCommit<Conn>(runner(undefined, shard), 256, options.onBatch, true));
    }
    return laneOf(rowLanes).run(fn);
  }

  function batched<T>(scope: TxScope, fn: (tx: Conn) => Promise<T>): Promise<T> {
    if ('rows' in scope) return inRowLane(fn);
    if (!('workspaceId' in scope) && !('key' in scope)) return laneOf(lanes).run(fn);
    const id = 'workspaceId' in scope ? `ws:${scope.workspaceId}` : `key:${scope.key}`;
    let entry = scopes.get(id);
    if (!entry) {
      const lock = 'workspaceId' in scope ? scope.workspaceId : undefined;
      entry = {
        commits: new GroupCommit<Conn>(runner(lock), 256, options.onBatch, false, withHandOff),
        pending: 0,
      };
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
      let deadlocks = 0;
      for (let lost = 0; ; ) {
        const running = batched(scope, fn);
        inflight.add(running);
        try {
          return await running;
        } catch (error) {
          // A deadlock with a transaction outside the scopes (a sweep) rolled this one back: again.
          if (isRetryable(error) && ++deadlocks < 3) continue;
          if (error instanceof CommitUnknown) throw databaseUnavailable(error.cause, 'unknown');
          if (!isConnectionLoss(error)) throw error;
          // Lost its connection before committing: rolled back, so it runs again on a fresh one.
          const pause = RECONNECT_BACKOFF_MS[lost++];
          if (pause === undefined) throw databaseUnavailable(error);
          await sleep(pause);
        } finally {
          inflight.delete(running);
        }
      }
    },
    async ping() {
      // Straight to the pool, no retries, bounded: /ready reports what it finds now.
      const answered = client.unsafe(PING.text).then(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('The database did not answer in time.')), PING_TIMEOUT_MS);
      });
      answered.catch(() => undefined);
      try {
        await Promise.race([answered, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await Promise.allSettled([...inflight]);
      await client.end({ timeout: 5 });
    },
  };
}
