import { openPostgresStore } from './postgres/index.ts';
import { openSqliteStore } from './sqlite/index.ts';
import type { Store } from './types.ts';

/** Picks the store from DATABASE_URL (DESIGN §8): postgres:// is PostgreSQL, the rest libSQL. */
export async function openStore(databaseUrl: string, options: { migrate?: boolean } = {}): Promise<Store> {
  if (/^postgres(ql)?:/.test(databaseUrl)) {
    return openPostgresStore({ url: databaseUrl, migrate: options.migrate });
  }
  return openSqliteStore({ url: databaseUrl, migrate: options.migrate });
}
