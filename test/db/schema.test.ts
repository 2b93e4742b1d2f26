import { readFileSync } from 'node:fs';
import {
  type DrizzleSnapshotJSON,
  type DrizzleSQLiteSnapshotJSON,
  generateDrizzleJson,
  generateMigration,
  generateSQLiteDrizzleJson,
  generateSQLiteMigration,
} from 'drizzle-kit/api';
import { describe, expect, it } from 'vitest';
import * as postgres from '../../gateway/db/schema/postgres.ts';
import * as sqlite from '../../gateway/db/schema/sqlite.ts';

// The tables are described once (gateway/db/schema/tables.ts) and each dialect's drizzle schema is
// derived from the description: the migrations shipped must be exactly what that derivation asks
// for, so an edit to a table without its migration (or a derivation that drifts) fails here, as
// `npm run db:generate` would by writing a new migration.
function newestSnapshot(dialect: 'sqlite' | 'postgres') {
  const dir = new URL(`../../migrations/${dialect}/meta/`, import.meta.url);
  const journal = JSON.parse(readFileSync(new URL('_journal.json', dir), 'utf8')) as {
    entries: { idx: number }[];
  };
  const idx = Math.max(...journal.entries.map((e) => e.idx));
  return JSON.parse(readFileSync(new URL(`${String(idx).padStart(4, '0')}_snapshot.json`, dir), 'utf8'));
}

describe('the derived schemas match the shipped migrations', () => {
  it('SQLite', async () => {
    const shipped = newestSnapshot('sqlite') as DrizzleSQLiteSnapshotJSON;
    const derived = await generateSQLiteDrizzleJson({ ...sqlite }, shipped.id);
    expect(await generateSQLiteMigration(shipped, derived)).toEqual([]);
  });

  it('PostgreSQL', async () => {
    const shipped = newestSnapshot('postgres') as DrizzleSnapshotJSON;
    const derived = generateDrizzleJson({ ...postgres }, shipped.id);
    expect(await generateMigration(shipped, derived)).toEqual([]);
  });
});
