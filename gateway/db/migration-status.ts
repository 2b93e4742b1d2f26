import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POSTGRES_MIGRATIONS } from './postgres/migrate.ts';
import { only, onlyNumber } from './schema/columns.ts';
import { SQLITE_MIGRATIONS } from './sqlite/migrate.ts';
import { type Conn, type Dialect, sql } from './types.ts';

interface JournalEntry {
  tag: string;
  /** drizzle records it as the applied migration's `created_at`. */
  when: number;
}

/** The migrations this build ships, per dialect (drizzle's journal), read once. */
const shipped = new Map<Dialect, JournalEntry[]>();
function shippedMigrations(dialect: Dialect): JournalEntry[] {
  let entries = shipped.get(dialect);
  if (!entries) {
    const folder = dialect === 'postgres' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS;
    const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
      entries: JournalEntry[];
    };
    entries = journal.entries.map(({ tag, when }) => ({ tag, when }));
    shipped.set(dialect, entries);
  }
  return entries;
}

const SQLITE_TABLE = sql(
  "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'",
  only<string>,
);
// The bookkeeping table sits beside the tables (a search_path schema) or in `drizzle` (see migrate.ts).
const POSTGRES_TABLE = sql(
  "SELECT COALESCE(to_regclass('__drizzle_migrations'), to_regclass('drizzle.__drizzle_migrations'))::text",
  only<string | null>,
);

/**
 * The shipped migrations the database has not applied, by tag (empty: up to date). drizzle's
 * migrator applies every migration newer than the newest `created_at` it recorded, so the same
 * comparison says what it would still apply.
 */
export async function pendingMigrations(conn: Conn): Promise<string[]> {
  const entries = shippedMigrations(conn.dialect);
  const table = conn.dialect === 'postgres' ? await conn.get(POSTGRES_TABLE) : await conn.get(SQLITE_TABLE);
  if (!table) return entries.map((e) => e.tag);
  const newest = await conn.get(
    // MAX of no rows is null, which Number makes 0.
    sql(`SELECT MAX(created_at) FROM ${table}`, onlyNumber),
  );
  return entries.filter((e) => e.when > (newest ?? 0)).map((e) => e.tag);
}
