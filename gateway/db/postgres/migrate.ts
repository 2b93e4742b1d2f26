import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

export const POSTGRES_MIGRATIONS = fileURLToPath(new URL('../../../migrations/postgres', import.meta.url));

/** The schema a URL selects through libpq's `options=-c search_path=…` (or a bare `search_path=`). */
export function schemaFromUrl(url: string): string | undefined {
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const fromOptions = /(?:^|\s)(?:-c\s*|--)search_path=(\S+)/.exec(params.get('options') ?? '')?.[1];
  const path = fromOptions ?? params.get('search_path') ?? undefined;
  const first = path
    ?.split(',')[0]
    ?.trim()
    .replace(/^"(.*)"$/, '$1');
  return first || undefined;
}

/**
 * Applies the migrations under a session advisory lock on one dedicated connection, so replicas
 * starting together run them one after another (the second finds nothing left to do).
 */
export async function migratePostgres(
  url: string,
  clientOptions: postgres.Options<Record<string, postgres.PostgresType>>,
  schema: string | undefined,
): Promise<void> {
  const client = postgres(url, { ...clientOptions, max: 1 });
  try {
    const lockKey = `warden:migrate:${schema ?? ''}`;
    await client`select pg_advisory_lock(hashtextextended(${lockKey}, 0))`;
    try {
      if (schema) await client.unsafe(`create schema if not exists "${schema}"`);
      await migrate(drizzle(client), {
        migrationsFolder: POSTGRES_MIGRATIONS,
        // The bookkeeping table lives beside the tables it describes, so each schema migrates on its own.
        migrationsSchema: schema ?? 'drizzle',
      });
    } finally {
      await client`select pg_advisory_unlock(hashtextextended(${lockKey}, 0))`;
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}
