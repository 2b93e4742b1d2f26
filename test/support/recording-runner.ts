import type { TransactionRunner } from '../../gateway/db/group-commit.ts';

/**
 * A transaction runner for GroupCommit tests: each transaction is numbered from 1, its callback
 * gets that number as its connection, and `log` records `begin N`, `commit N` or `rollback N`.
 */
export function recordingRunner(log: string[]): TransactionRunner<number> {
  let n = 0;
  return {
    async transaction(fn) {
      const id = ++n;
      log.push(`begin ${id}`);
      try {
        const value = await fn(id);
        log.push(`commit ${id}`);
        return value;
      } catch (error) {
        log.push(`rollback ${id}`);
        throw error;
      }
    },
  };
}
