import { setImmediate as turn } from 'node:timers/promises';
import { signCompact } from '../../crypto/jws.ts';
import { append, frontier, leafHash } from '../../crypto/merkle.ts';
import {
  dropQueued,
  type LogEntry,
  newestCheckpoint,
  nodesAt,
  pendingLogs,
  queuedEntries,
  type StoredCheckpoint,
  trySequencerLock,
  writeBatch,
} from '../../repositories/ledger-log.ts';
import type { Deps, ServiceContext } from '../context.ts';
import { CHECKPOINT_TYP, type CheckpointPayload, entryBytes, OPERATOR_LOG } from '../ledger/index.ts';
import { emit } from '../notifications/index.ts';

/**
 * The ledger log's sequencer (DESIGN §9): appends the receipts and audit events the triggers
 * queued, in batches, one sequencer per log at a time across replicas, and signs a checkpoint per
 * batch (with its `ledger.checkpoint` webhook deliveries). It sits above ledger/ and notifications/:
 * the log's format and reads are in ledger/, the event it emits in notifications/.
 */

/**
 * Entries appended per batch at most. On SQLite a batch runs in the one writer, between the
 * requests' group commits, and its hashing and signing hold the event loop: small batches, with a
 * turn of the loop between them, keep that pause to a few milliseconds: an entry costs 65–85 µs
 * of CPU (measured on SQLite), so 64 hold the loop ~5 ms where 256 held it ~18 ms, a request's p99
 * at 500 req/s. A checkpoint per 64 entries costs one signature (~1 µs per entry).
 */
const BATCH = 64;

/**
 * What one log's batch did: entries appended (0: nothing waiting) and whether it took a full batch
 * (more may be waiting), or skipped (another replica has the log).
 */
export type StepResult = { appended: number; size: number; full: boolean; busy: false } | { busy: true };

/**
 * Appends the oldest waiting entries of one log, in one transaction: the entries, the subtrees they
 * complete, the signed checkpoint, its webhook deliveries, and the removal of their queue rows. A
 * process that dies anywhere before COMMIT leaves the queue as it was; the unique indexes refuse a
 * second writer of a place. `ctx` names the job run (its request id is in the logs).
 */
export async function appendBatch(ctx: ServiceContext, log: string): Promise<StepResult> {
  const { deps } = ctx;
  let committedAt: number[] = [];
  return deps.db
    .transaction({ key: `ledger:${log}` }, async (tx) => {
      committedAt = [];
      // The lock is tried and the log's head and queue read in one round trip: on one connection the
      // reads run after the try (which never waits), and are thrown away when another replica has it.
      const [locked, head, queued] = await Promise.all([
        trySequencerLock(tx, log),
        newestCheckpoint(tx, log),
        queuedEntries(tx, log, BATCH),
      ]);
      if (!locked) return { busy: true } as const;
      const size = head?.size ?? 0;
      const full = queued.length === BATCH;
      if (queued.length === 0) return { appended: 0, size, full, busy: false } as const;
      const known = await nodesAt(tx, log, frontier(size));
      const entries: LogEntry[] = [];
      const seen = new Set<string>();
      for (const q of queued) {
        const key = `${q.kind}:${q.ref}`;
        if (q.logged || seen.has(key)) continue;
        if ((q.kind === 'receipt' && q.jws === null) || (q.kind === 'audit' && q.hash === null)) {
          // The row was removed before it could be appended: nothing to seal, and nothing to wait for.
          deps.logger.error(
            { log, kind: q.kind, ref: q.ref },
            'a queued ledger entry names a row that is gone',
          );
          continue;
        }
        seen.add(key);
        committedAt.push(q.createdAt);
        entries.push({ index: size + entries.length, kind: q.kind, ref: q.ref, jws: q.jws, hash: q.hash });
      }
      const queueIds = queued.map((q) => q.id);
      if (entries.length === 0) {
        await dropQueued(tx, queueIds);
        return { appended: 0, size, full, busy: false } as const;
      }
      const frontierNodes = frontier(size).map((ref) => {
        const hash = known.get(`${ref.level}:${ref.index}`);
        if (!hash) throw new Error(`The ledger log of ${log || 'the operator'} is missing a node.`);
        return { ...ref, hash };
      });
      const grown = append(
        size,
        frontierNodes,
        entries.map((e) => leafHash(entryBytes(e))),
      );
      const at = deps.clock();
      const checkpoint = signCheckpoint(deps, log, grown.size, grown.root.toString('hex'), at);
      await Promise.all([
        writeBatch(tx, { workspaceId: log, entries, nodes: grown.nodes, checkpoint, queueIds, at }),
        log === OPERATOR_LOG
          ? undefined
          : emit(tx, ctx, {
              workspaceId: log,
              type: 'ledger.checkpoint',
              data: { checkpoint: checkpoint.jws, size: checkpoint.size, root: checkpoint.root },
              at,
            }),
      ]);
      return { appended: entries.length, size: grown.size, full, busy: false } as const;
    })
    .then((step) => {
      if (!step.busy && step.appended > 0) observeLag(deps, committedAt);
      return step;
    });
}

/** Commit → appended, per entry, once the batch is durable (warden_ledger_sequence_lag_seconds). */
function observeLag(deps: Deps, committedAt: readonly number[]): void {
  const now = deps.clock();
  for (const at of committedAt) deps.metrics.ledgerLag(Math.max(0, now - at) / 1000);
}

function signCheckpoint(deps: Deps, log: string, size: number, root: string, at: number): StoredCheckpoint {
  const payload: CheckpointPayload = {
    v: 1,
    workspaceId: log,
    size,
    root,
    issuedAt: new Date(at).toISOString(),
  };
  const { kid, key } = deps.signingKeys.current();
  const jws = signCompact({ kid, typ: CHECKPOINT_TYP }, JSON.stringify(payload), key);
  return { workspaceId: log, size, root, jws, issuedAt: at };
}

/**
 * One pass of the sequencer: every log with entries waiting, batch after batch while the batches
 * are full, until another replica holds the log. A batch that was not full took what had
 * committed: the entries committing since wait for the next pass rather than being appended a few
 * at a time (under steady load, chasing them made batches of one to ten entries, each paying a
 * checkpoint's signature, its subtree writes and its webhook deliveries). Answers how many entries
 * it appended.
 */
export async function sequenceLedger({ ctx }: { ctx: ServiceContext }): Promise<number> {
  let appended = 0;
  for (const log of await pendingLogs(ctx.deps.db.reader, 1_000)) {
    for (;;) {
      const step = await appendBatch(ctx, log);
      if (step.busy) break;
      appended += step.appended;
      if (!step.full) break;
      await turn();
    }
  }
  return appended;
}
