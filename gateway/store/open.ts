import { openSqliteStore } from './sqlite/index.ts';
import type { Store } from './types.ts';

/** Picks the store from DATABASE_URL (DESIGN §8). */
export async function openStore(databaseUrl: string, options: { migrate?: boolean } = {}): Promise<Store> {
  if (/^postgres(ql)?:/.test(databaseUrl)) {
    throw new Error('PostgreSQL support is not built yet: use a file: or libsql: DATABASE_URL.');
  }
  return openSqliteStore({ url: databaseUrl, migrate: options.migrate });
}
