import { createClient } from '@libsql/client';
import { afterAll, describe, expect, it } from 'vitest';
import { installStatementCache } from '../../gateway/store/sqlite/statement-cache.ts';
import { tempDatabaseUrl } from '../support/harness.ts';

describe('prepared statement cache on libSQL connections', () => {
  installStatementCache();
  const { url, cleanup } = tempDatabaseUrl();
  const client = createClient({ url, concurrency: 1 });
  afterAll(() => {
    client.close();
    cleanup();
  });

  it('reuses a statement after it failed on a constraint', async () => {
    await client.execute('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)');
    const insert = 'INSERT INTO t (id, n) VALUES (?, ?) RETURNING id';
    expect((await client.execute({ sql: insert, args: ['a', 1] })).rows[0]?.id).toBe('a');
    await expect(client.execute({ sql: insert, args: ['a', 2] })).rejects.toThrow(/UNIQUE/);
    expect((await client.execute({ sql: insert, args: ['b', 3] })).rows[0]?.id).toBe('b');
    const all = await client.execute('SELECT id, n FROM t ORDER BY id');
    expect(all.rows.map((r) => [r.id, r.n])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
  });

  it('gives fresh results on every run and keeps working across a schema change', async () => {
    // The store's statements name their columns (drizzle always does), so a migration that adds a
    // column cannot change the shape of a statement already cached.
    const select = 'SELECT id, n FROM t WHERE id = ?';
    expect((await client.execute({ sql: select, args: ['a'] })).rows[0]?.n).toBe(1);
    await client.execute({ sql: 'UPDATE t SET n = ? WHERE id = ?', args: [9, 'a'] });
    expect((await client.execute({ sql: select, args: ['a'] })).rows[0]?.n).toBe(9);
    await client.execute('ALTER TABLE t ADD COLUMN extra TEXT');
    expect((await client.execute({ sql: select, args: ['a'] })).rows[0]?.n).toBe(9);
    await client.execute({ sql: 'UPDATE t SET extra = ? WHERE id = ?', args: ['x', 'a'] });
    const fresh = await client.execute({ sql: 'SELECT id, n, extra FROM t WHERE id = ?', args: ['a'] });
    expect(fresh.rows[0]?.extra).toBe('x');
  });
});
