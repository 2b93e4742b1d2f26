import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { createGateway, type Gateway } from '../../gateway/app.ts';
import { pendingMigrations } from '../../gateway/db/migration-status.ts';
import { openDatabase } from '../../gateway/db/open.ts';
import { sql } from '../../gateway/db/types.ts';
import { DIALECTS, freshDatabase, openTestDb } from '../support/dialects.ts';
import { ADMIN_TOKEN, call, startTestGateway, TEST_SECRETS_KEY } from '../support/harness.ts';

/** The migrations this checkout ships for a dialect, oldest first (drizzle's journal). */
const shipped = (dialect: string): { tag: string; when: number }[] =>
  (
    JSON.parse(
      readFileSync(new URL(`../../migrations/${dialect}/meta/_journal.json`, import.meta.url), 'utf8'),
    ) as { entries: { tag: string; when: number }[] }
  ).entries;

const MIGRATION_ROW = sql('SELECT hash, created_at FROM __drizzle_migrations WHERE created_at = ?', (r) => ({
  hash: r[0] as string,
  createdAt: Number(r[1]),
}));

describe.each(DIALECTS)('GET /ready and migrations (%s)', (dialect) => {
  it('a database nothing migrated has every shipped migration pending; after migrating, none', async () => {
    const fresh = await freshDatabase(dialect);
    try {
      const bare = await openDatabase(fresh.url, { migrate: false });
      try {
        expect(await pendingMigrations(bare.reader)).toEqual(shipped(dialect).map((e) => e.tag));
      } finally {
        await bare.close();
      }
      const migrated = await openDatabase(fresh.url);
      try {
        expect(await pendingMigrations(migrated.reader)).toEqual([]);
      } finally {
        await migrated.close();
      }
    } finally {
      await fresh.drop();
    }
  });

  it('503 naming the migration not applied (liveness unaffected), then 200 once it is', async () => {
    const gw = await startTestGateway({ dialect });
    try {
      // The database loses its newest migration, as if this build were newer than the database.
      const newest = shipped(dialect).at(-1);
      if (!newest) throw new Error('no migrations shipped');
      const row = await gw.db.reader.get(MIGRATION_ROW, [newest.when]);
      expect(row).toBeDefined();
      await gw.db.transaction({}, (tx) =>
        tx.run(sql('DELETE FROM __drizzle_migrations WHERE created_at = ?'), [newest.when]),
      );

      const notReady = await call(gw, 'GET', '/ready');
      expect(notReady.status).toBe(503);
      expect(notReady.body).toEqual({
        status: 'unavailable',
        database: dialect,
        migrationsPending: [newest.tag],
        workersNotRunning: [],
      });
      expect(await call(gw, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });

      await gw.db.transaction({}, (tx) =>
        tx.run(sql('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)'), [
          row?.hash,
          row?.createdAt,
        ]),
      );
      expect(await call(gw, 'GET', '/ready')).toMatchObject({
        status: 200,
        body: { status: 'ready', database: dialect },
      });
    } finally {
      await gw.dispose();
    }
  });
});

describe('GET /ready and the background workers', () => {
  let database: Awaited<ReturnType<typeof openTestDb>>;
  let gw: Gateway;
  let closed = false;

  beforeAll(async () => {
    database = await openTestDb('sqlite');
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      SECRETS_KEY: TEST_SECRETS_KEY,
      DATABASE_URL: database.url,
    });
    // With its jobs, as `npm start` builds it.
    gw = await createGateway({ config, db: database.db });
  });
  afterAll(async () => {
    if (!closed) await gw?.close();
    await database?.dispose();
  });

  it('is ready once the outbox worker and the deadline job run, and 503 naming one that does not', async () => {
    expect(gw.health.workers).toEqual({ outbox: true, deadlines: true, sequencer: true });
    expect(await call(gw, 'GET', '/ready')).toMatchObject({
      status: 200,
      body: { status: 'ready', database: 'sqlite' },
    });

    gw.health.workers.deadlines = false;
    const res = await call(gw, 'GET', '/ready');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'unavailable',
      database: 'sqlite',
      migrationsPending: [],
      workersNotRunning: ['deadlines'],
    });
    gw.health.workers.deadlines = true;
    expect((await call(gw, 'GET', '/ready')).status).toBe(200);
  });

  it('once closed, the workers are stopped and readiness says so', async () => {
    await gw.close();
    closed = true;
    expect(gw.health.workers).toEqual({ outbox: false, deadlines: false, sequencer: false });
    expect(await call(gw, 'GET', '/ready')).toMatchObject({ status: 503, body: { status: 'shutting_down' } });
  });
});
