import { openPostgres } from './postgres/database.ts';
import { openSqlite } from './sqlite/database.ts';
import type { Db } from './types.ts';

export interface OpenOptions {
  /** Apply migrations first (the default); `warden migrate` runs them alone. */
  migrate?: boolean;
  /** Observes each group commit's size. */
  onBatch?: (size: number) => void;
  /** PostgreSQL: how long each transaction held its workspace's lock, in seconds. */
  onLockHeld?: (seconds: number) => void;
}

/** Picks the database from DATABASE_URL (DESIGN §8): postgres:// is PostgreSQL, file: the embedded one. */
export async function openDatabase(databaseUrl: string, options: OpenOptions = {}): Promise<Db> {
  if (/^postgres(ql)?:/.test(databaseUrl)) return openPostgres({ url: databaseUrl, ...options });
  const { onLockHeld: _unused, ...sqlite } = options;
  return openSqlite({ url: databaseUrl, ...sqlite });
}
