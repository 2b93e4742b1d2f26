import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../gateway/db/group-commit.ts';
import { openSqlite } from '../../gateway/db/sqlite/database.ts';
import { tempDatabaseUrl } from '../support/harness.ts';
import { recordingRunner } from '../support/recording-runner.ts';
import { dbContract } from './contract.ts';

dbContract('sqlite file', async () => {
  const { url, cleanup } = tempDatabaseUrl();
  const db = await openSqlite({ url });
  return {
    db,
    dispose: async () => {
      await db.close();
      cleanup();
    },
  };
});

describe('group commit', () => {
  // A fake transaction runner that records what ran in which transaction.
  function recorder() {
    const log: string[] = [];
    return { gc: new GroupCommit<number>(recordingRunner(log)), log };
  }

  it('runs transactions queued in one turn in one database transaction and settles each after the commit', async () => {
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

  it('a failing job rolls its batch back; every job then runs alone, so it fails alone', async () => {
    const { gc, log } = recorder();
    const results = await Promise.allSettled([
      gc.run(async (tx) => {
        log.push(`one in ${tx}`);
        return 1;
      }),
      gc.run(async (tx) => {
        log.push(`two in ${tx}`);
        throw new Error('boom');
      }),
      gc.run(async (tx) => {
        log.push(`three in ${tx}`);
        return 3;
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[0]).toMatchObject({ value: 1 });
    expect(results[2]).toMatchObject({ value: 3 });
    expect(log).toEqual([
      'begin 1',
      'one in 1',
      'two in 1',
      'rollback 1',
      'begin 2',
      'one in 2',
      'commit 2',
      'begin 3',
      'two in 3',
      'rollback 3',
      'begin 4',
      'three in 4',
      'commit 4',
    ]);
  });

  it('transactions queued while a commit is running go into the next one', async () => {
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
