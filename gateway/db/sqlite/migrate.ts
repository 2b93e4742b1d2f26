import { fileURLToPath } from 'node:url';
import { createClient } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';

export const SQLITE_MIGRATIONS = fileURLToPath(new URL('../../../migrations/sqlite', import.meta.url));

/**
 * Applies the generated migrations (drizzle's libSQL migrator, through @libsql/client on its own
 * connection, before the gateway opens its native ones). Another process migrating at the same
 * time waits on the database lock and then finds nothing left to do.
 */
export async function migrateSqlite(url: string): Promise<void> {
  const client = createClient({ url, timeout: 5000 } as Parameters<typeof createClient>[0]);
  try {
    await migrate(drizzle(client), { migrationsFolder: SQLITE_MIGRATIONS });
  } finally {
    client.close();
  }
}
