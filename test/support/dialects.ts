import postgres from 'postgres';
import { openDatabase } from '../../gateway/db/open.ts';
import type { Db } from '../../gateway/db/types.ts';
import { tempDatabaseUrl } from './harness.ts';

/** Every dialect the store contract and the HTTP suites run on (DESIGN §8). */
export const DIALECTS = ['sqlite', 'postgres'] as const;
export type Dialect = (typeof DIALECTS)[number];

/** CI: postgres://postgres@127.0.0.1:5432/test (.ci/run). */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  /** A DATABASE_URL that selects this database (for PostgreSQL: its schema, through search_path). */
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty PostgreSQL schema. The server must be reachable: the suites fail with this message,
 * they never skip (issue 5).
 */
export async function freshPostgresSchema(): Promise<TestDatabase & { schema: string }> {
  const schema = `warden_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await admin.unsafe(`create schema "${schema}"`);
  } catch (error) {
    await admin.end({ timeout: 1 }).catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `PostgreSQL is unreachable at ${TEST_POSTGRES_URL} (${reason}). Start it, or set TEST_POSTGRES_URL; the PostgreSQL suites do not skip.`,
    );
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: url.toString(),
    async drop() {
      try {
        await admin.unsafe(`drop schema if exists "${schema}" cascade`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    },
  };
}

/** A fresh database of one dialect: a temporary SQLite file, or a PostgreSQL schema. */
export async function freshDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'postgres') return freshPostgresSchema();
  const { url, cleanup } = tempDatabaseUrl();
  return { url, drop: async () => cleanup() };
}

/** A migrated, empty database of one dialect on a fresh file or schema; `dispose` closes and drops it. */
export async function openTestDb(
  dialect: Dialect,
): Promise<{ db: Db; url: string; dispose: () => Promise<void> }> {
  const fresh = await freshDatabase(dialect);
  try {
    const db = await openDatabase(fresh.url);
    return {
      db,
      url: fresh.url,
      async dispose() {
        try {
          await db.close();
        } finally {
          await fresh.drop();
        }
      },
    };
  } catch (error) {
    await fresh.drop();
    throw error;
  }
}
