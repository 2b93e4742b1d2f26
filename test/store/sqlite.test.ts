import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../gateway/store/sqlite/group-commit.ts';
import { openSqliteStore } from '../../gateway/store/sqlite/index.ts';
import { tempDatabaseUrl } from '../support/harness.ts';
import { storeContract } from './contract.ts';

storeContract('sqlite file', async () => {
  const { url, cleanup } = tempDatabaseUrl();
  const store = await openSqliteStore({ url });
  return {
    store,
    dispose: async () => {
      await store.close();
      cleanup();
    },
  };
});

describe('group commit', () => {
  // A fake transaction runner that records what ran in which transaction.
  function recorder() {
    const log: string[] = [];
    let n = 0;
    const gc = new GroupCommit<number>({
      async transaction(fn) {
        const id = ++n;
        log.push(`begin ${id}`);
        const value = await fn(id);
        log.push(`commit ${id}`);
        return value;
      },
      async savepoint(tx, fn) {
        try {
          return await fn(tx);
        } catch (error) {
          log.push(`rollback-to in ${tx}`);
          throw error;
        }
      },
    });
    return { gc, log };
  }

  it('runs writes queued in one turn in one transaction and settles each after the commit', async () => {
    const { gc, log } = recorder();
    const settled: string[] = [];
    const jobs = ['a', 'b', 'c'].map((name) =>
      gc
        .run(async (tx) => {
          log.push(`${name} in ${tx}`);
          return name;
        })
        .then((v) => settled.push(`${v} after ${log.at(-1)}`)),
    );
    await Promise.all(jobs);
    expect(log).toEqual(['begin 1', 'a in 1', 'b in 1', 'c in 1', 'commit 1']);
    expect(settled).toEqual(['a after commit 1', 'b after commit 1', 'c after commit 1']);
  });

  it('a failing job is rolled back alone; the others commit', async () => {
    const { gc, log } = recorder();
    const results = await Promise.allSettled([
      gc.run(async () => 1),
      gc.run(async () => {
        throw new Error('boom');
      }),
      gc.run(async () => 3),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toContain('rollback-to in 1');
    expect(log.at(-1)).toBe('commit 1');
  });

  it('writes queued while a commit is running go into the next transaction', async () => {
    const { gc, log } = recorder();
    const first = gc.run(async () => {
      // Queued from inside the running batch: must not join it.
      void gc.run(async (tx) => log.push(`late in ${tx}`));
      return 'first';
    });
    await first;
    await gc.drained();
    expect(log).toEqual(['begin 1', 'commit 1', 'begin 2', 'late in 2', 'commit 2']);
  });
});
