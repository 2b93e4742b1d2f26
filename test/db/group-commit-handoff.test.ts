import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../gateway/db/group-commit.ts';
import { recordingRunner } from '../support/recording-runner.ts';

/**
 * Jobs of a locked batch in turn, with hand-off: the next job starts once the previous one has
 * sent the writes later jobs must see, instead of once its writes came back. A stand-in
 * connection plays the server: it runs each statement the moment it is sent, in the order sent
 * (as PostgreSQL does on one connection), and answers a round trip later.
 */
interface FakeConn {
  tx: number;
  send(statement: string): Promise<number>;
  handOff?(): void;
}

const ROUND_TRIP_MS = 5;

function fakeServer() {
  const log: string[] = [];
  let spent = 0;
  let committed = 0;
  let n = 0;
  const conn = (tx: number): FakeConn => ({
    tx,
    async send(statement) {
      // Runs now, in send order; the answer arrives a round trip later.
      let result = 0;
      if (statement === 'read spend') result = spent;
      else if (statement.startsWith('reserve ')) spent += Number(statement.slice('reserve '.length));
      log.push(`sent ${statement} in ${tx}`);
      await sleep(ROUND_TRIP_MS);
      log.push(`answered ${statement} in ${tx}`);
      return result;
    },
  });
  const gc = new GroupCommit<FakeConn>(
    {
      async transaction(fn) {
        const id = ++n;
        const before = spent;
        log.push(`begin ${id}`);
        try {
          const value = await fn(conn(id));
          committed = spent;
          log.push(`commit ${id}`);
          return value;
        } catch (error) {
          spent = before;
          log.push(`rollback ${id}`);
          throw error;
        }
      },
    },
    256,
    undefined,
    false,
    (c, handOff) => ({ ...c, handOff }),
  );
  return { gc, log, spent: () => committed };
}

/** An admission under a spending limit of 30: read, decide, reserve 10, hand off, await the write. */
const admit =
  (name: string, fail = false) =>
  async (tx: FakeConn) => {
    const spent = await tx.send(`read spend`);
    if (spent + 10 > 30) return `${name} refused`;
    const written = tx.send('reserve 10');
    tx.handOff?.();
    await written;
    if (fail) throw new Error(`${name} failed after its write`);
    return `${name} admitted`;
  };

describe('group commit: jobs in turn with hand-off', () => {
  it('starts the next job once the previous sent its writes, and each still sees the writes before it', async () => {
    const { gc, log, spent } = fakeServer();
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((name) => gc.run(admit(name))));
    // The limit holds: three reservations of 10 fit in 30, whatever the overlap.
    expect(results).toEqual([
      'a admitted',
      'b admitted',
      'c admitted',
      'd refused',
      'e refused',
      'f refused',
    ]);
    expect(spent()).toBe(30);
    // b's read went out right behind a's write, before that write's answer came back: one round
    // trip per admission while the lock is held, not two.
    expect(log.slice(0, 6)).toEqual([
      'begin 1',
      'sent read spend in 1',
      'answered read spend in 1',
      'sent reserve 10 in 1',
      'sent read spend in 1',
      'answered reserve 10 in 1',
    ]);
    expect(log.at(-1)).toBe('commit 1');
  });

  it('a job failing after its hand-off rolls the batch back once every started job settled; each then runs alone', async () => {
    const { gc, log, spent } = fakeServer();
    const results = await Promise.allSettled([
      gc.run(admit('a')),
      gc.run(admit('b', true)),
      gc.run(admit('c')),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'a admitted',
      'b failed after its write',
      'c admitted',
    ]);
    // Nothing was sent in the first transaction after its rollback.
    const rollback = log.indexOf('rollback 1');
    expect(rollback).toBeGreaterThan(0);
    expect(log.slice(rollback + 1).some((line) => line.endsWith(' in 1'))).toBe(false);
    // a and c committed alone; b's reservation was rolled back with it.
    expect(spent()).toBe(20);
    expect(log.filter((line) => line.startsWith('commit'))).toHaveLength(2);
  });

  it('a parallel batch rolls back only once every job settled: none writes after the rollback', async () => {
    // The batches of hot-row lanes run their jobs at once. One failing must not roll the batch
    // back while another is between two statements: that one's next statement would run outside
    // the transaction (autocommit, or on a connection the pool gave to someone else), and run
    // again when the job is retried alone.
    const log: string[] = [];
    const gc = new GroupCommit<number>(recordingRunner(log), 256, undefined, true);
    const twoSteps = (name: string) => async (tx: number) => {
      log.push(`${name} first in ${tx}`);
      await sleep(ROUND_TRIP_MS);
      log.push(`${name} second in ${tx}`);
      return name;
    };
    const failing = async (tx: number) => {
      log.push(`x in ${tx}`);
      throw new Error('x failed');
    };
    const results = await Promise.allSettled([gc.run(twoSteps('a')), gc.run(failing), gc.run(twoSteps('b'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const rollback = log.indexOf('rollback 1');
    expect(log.slice(0, rollback)).toEqual(expect.arrayContaining(['a second in 1', 'b second in 1']));
    expect(log.slice(rollback + 1).some((line) => line.endsWith(' in 1'))).toBe(false);
  });
});
