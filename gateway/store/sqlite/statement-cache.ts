import Database from 'libsql';

/**
 * @libsql/client prepares every statement anew on each call, and preparing costs about 20 times
 * more than running a cached statement on this machine (45 µs against 2.4 µs for an indexed read).
 * This keeps each connection's prepared statements by SQL text, so the gateway's fixed set of
 * queries is compiled once per connection.
 *
 * Before every run the client also asks the statement for its columns (twice), switches it to raw
 * mode (which throws for a statement that returns no rows) and turns on safe integers: together a
 * third of the time spent in libsql. For a cached statement those answers never change, so they are
 * kept on the statement: columns once, each mode set only when it changes, and the raw refusal
 * remembered and thrown again.
 *
 * Calls are synchronous, so a cached statement is never used by two callers at once. SQLite
 * re-prepares a statement itself after a schema change; a statement's column list is kept, which is
 * why the store's statements always name their columns (drizzle never writes `SELECT *`).
 */
const MAX_PER_CONNECTION = 512;

interface NativeStatement {
  columns(): unknown;
  raw(on?: boolean): unknown;
  safeIntegers(on?: boolean): unknown;
}

interface Preparable {
  prepare(sql: string, ...rest: unknown[]): NativeStatement;
}

const caches = new WeakMap<object, Map<string, NativeStatement>>();
let installed = false;

function memoise(statement: NativeStatement): NativeStatement {
  const columns = statement.columns.bind(statement);
  const raw = statement.raw.bind(statement);
  const safeIntegers = statement.safeIntegers.bind(statement);
  let knownColumns: unknown;
  let rawMode: boolean | undefined;
  let rawRefusal: unknown;
  let safeMode: boolean | undefined;
  statement.columns = () => {
    knownColumns ??= columns();
    return knownColumns;
  };
  statement.raw = (on = true) => {
    if (rawRefusal !== undefined && on) throw rawRefusal;
    if (rawMode === on) return statement;
    try {
      raw(on);
    } catch (error) {
      if (on) rawRefusal = error;
      throw error;
    }
    rawMode = on;
    return statement;
  };
  statement.safeIntegers = (on = true) => {
    if (safeMode !== on) {
      safeIntegers(on);
      safeMode = on;
    }
    return statement;
  };
  return statement;
}

export function installStatementCache(): void {
  if (installed) return;
  installed = true;
  const proto = Database.prototype as unknown as Preparable;
  const prepare = proto.prepare;
  proto.prepare = function cachedPrepare(this: object, sql: string, ...rest: unknown[]) {
    if (rest.length > 0) return prepare.call(this, sql, ...rest);
    let cache = caches.get(this);
    if (!cache) {
      cache = new Map();
      caches.set(this, cache);
    }
    const hit = cache.get(sql);
    if (hit) return hit;
    const statement = memoise(prepare.call(this, sql));
    if (cache.size >= MAX_PER_CONNECTION) cache.clear();
    cache.set(sql, statement);
    return statement;
  };
}
