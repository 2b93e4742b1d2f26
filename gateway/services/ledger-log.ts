import { canonicalJson } from '../../policy/canonical.ts';
import { signCompact } from '../crypto/jws.ts';
import {
  append,
  consistencyProof,
  frontier,
  inclusionProof,
  leafHash,
  type NodeSource,
} from '../crypto/merkle.ts';
import type { Conn } from '../db/types.ts';
import { GatewayError } from '../domain/index.ts';
import {
  alreadyLogged,
  checkpointAt,
  dropQueued,
  type EntryKind,
  entriesFrom,
  entryIndex,
  type LogEntry,
  newestCheckpoint,
  nodesAt,
  pendingLogs,
  queuedEntries,
  type StoredCheckpoint,
  trySequencerLock,
  writeBatch,
} from '../repositories/ledger-log.ts';
import type { Deps, ServiceContext } from './context.ts';
import { workspaceOf } from './context.ts';
import { emit } from './events.ts';

/**
 * The ledger log (DESIGN §9): one append-only Merkle log per workspace in the shape of Certificate
 * Transparency (RFC 9162 §2.1) that orders and seals receipts and audit events after they commit.
 * Triggers queue every committed receipt and chained audit event; the sequencer appends them in
 * batches, one sequencer per log at a time across replicas, and signs a checkpoint per batch.
 */

/** The log of the operator's own audit events (no workspace). */
export const OPERATOR_LOG = '';

/** The JWS `typ` of a checkpoint (DESIGN §9). */
export const CHECKPOINT_TYP = 'warden-checkpoint+jws';

export interface CheckpointPayload {
  v: 1;
  workspaceId: string;
  size: number;
  root: string;
  issuedAt: string;
}

/** Entries appended per batch at most: one transaction stays a few milliseconds of work. */
const BATCH = 1_000;

/** The bytes an entry hashes: the RFC 8785 canonical JSON of its object (DESIGN §9). */
export function entryBytes(entry: Pick<LogEntry, 'kind' | 'ref' | 'jws' | 'hash'>): Buffer {
  const object =
    entry.kind === 'receipt'
      ? { kind: 'receipt', jws: entry.jws }
      : { kind: 'audit', id: entry.ref, hash: entry.hash };
  return Buffer.from(canonicalJson(object), 'utf8');
}

/** What one log's batch did: entries appended (0: nothing waiting), or skipped (another replica has it). */
export type StepResult = { appended: number; size: number; busy: false } | { busy: true };

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
      if (!(await trySequencerLock(tx, log))) return { busy: true } as const;
      const [head, queued] = await Promise.all([newestCheckpoint(tx, log), queuedEntries(tx, log, BATCH)]);
      const size = head?.size ?? 0;
      if (queued.length === 0) return { appended: 0, size, busy: false } as const;
      const [known, logged] = await Promise.all([
        nodesAt(tx, log, frontier(size)),
        alreadyLogged(tx, log, queued),
      ]);
      const entries: LogEntry[] = [];
      const seen = new Set<string>();
      for (const q of queued) {
        const key = `${q.kind}:${q.ref}`;
        if (logged.has(key) || seen.has(key)) continue;
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
        return { appended: 0, size, busy: false } as const;
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
          : emit(tx, deps.subscriptions, {
              workspaceId: log,
              type: 'ledger.checkpoint',
              data: { checkpoint: checkpoint.jws, size: checkpoint.size, root: checkpoint.root },
              at,
            }),
      ]);
      return { appended: entries.length, size: grown.size, busy: false } as const;
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
 * One pass of the sequencer: every log with entries waiting, batch after batch until each is
 * empty or another replica holds it. Answers how many entries it appended.
 */
export async function sequenceLedger({ ctx }: { ctx: ServiceContext }): Promise<number> {
  let appended = 0;
  for (const log of await pendingLogs(ctx.deps.db.reader, 1_000)) {
    for (;;) {
      const step = await appendBatch(ctx, log);
      if (step.busy || step.appended === 0) break;
      appended += step.appended;
    }
  }
  return appended;
}

const source =
  (conn: Conn, log: string): NodeSource =>
  (refs) =>
    nodesAt(conn, log, refs);

const hex = (hashes: Buffer[]) => hashes.map((h) => h.toString('hex'));

export function checkpointPayload(jws: string): CheckpointPayload {
  const [, body = ''] = jws.split('.');
  return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CheckpointPayload;
}

const answerCheckpoint = (c: StoredCheckpoint) => ({ checkpoint: c.jws, payload: checkpointPayload(c.jws) });

/** GET /agp|v1/ledger/checkpoint: the newest, or the one signed at `size`. */
export async function readCheckpoint({ ctx, input }: { ctx: ServiceContext; input: { size?: number } }) {
  const log = workspaceOf(ctx);
  const reader = ctx.deps.db.reader;
  const found =
    input.size === undefined
      ? await newestCheckpoint(reader, log)
      : await checkpointAt(reader, log, input.size);
  if (!found) {
    throw new GatewayError(
      'NOT_FOUND',
      input.size === undefined
        ? 'The ledger log has no checkpoint yet: nothing has been appended.'
        : `No checkpoint was signed at size ${input.size}.`,
    );
  }
  return answerCheckpoint(found);
}

/** The newest checkpoint of the caller's workspace, or null before the first (the console). */
export async function newestCheckpointOf({ ctx }: { ctx: ServiceContext }) {
  const found = await newestCheckpoint(ctx.deps.db.reader, workspaceOf(ctx));
  return found ? answerCheckpoint(found) : null;
}

/** GET /agp|v1/ledger/consistency?from=M&to=N (RFC 9162 §2.1.4). */
export async function readConsistency({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { from: number; to: number };
}) {
  const log = workspaceOf(ctx);
  const reader = ctx.deps.db.reader;
  const newest = (await newestCheckpoint(reader, log))?.size ?? 0;
  const { from, to } = input;
  if (!(from > 0 && from <= to && to <= newest)) {
    throw new GatewayError(
      'VALIDATION_ERROR',
      `A consistency proof needs 0 < from ≤ to ≤ ${newest}, the newest size; got from=${from}, to=${to}.`,
      { from, to, size: newest },
    );
  }
  return { from, to, proof: hex(await consistencyProof(from, to, source(reader, log))) };
}

/** GET /v1/ledger/entries?start=S&limit=L: the entries in log order, to rebuild the tree. */
export async function readEntries({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { start: number; limit: number };
}) {
  const log = workspaceOf(ctx);
  const reader = ctx.deps.db.reader;
  const [entries, head] = await Promise.all([
    entriesFrom(reader, log, input.start, input.limit),
    newestCheckpoint(reader, log),
  ]);
  const size = head?.size ?? 0;
  return {
    entries: entries
      .filter((e) => e.index < size)
      .map((e) =>
        e.kind === 'receipt'
          ? { index: e.index, kind: e.kind, jws: e.jws ?? '' }
          : { index: e.index, kind: e.kind, id: e.ref, hash: e.hash ?? '' },
      ),
    size,
  };
}

export interface LogPlace {
  index: number;
  size: number;
  inclusionProof: string[];
  checkpoint: string;
}

/**
 * Where an entry sits in its log under a checkpoint (the newest, or `under`): its leaf index and
 * audit path. Null until it is appended (or when `under` was signed before it).
 */
export async function logPlace(
  conn: Conn,
  log: string,
  kind: EntryKind,
  ref: string,
  under?: StoredCheckpoint,
): Promise<LogPlace | null> {
  const [index, head] = await Promise.all([
    entryIndex(conn, log, kind, ref),
    under ? Promise.resolve(under) : newestCheckpoint(conn, log),
  ]);
  if (index === undefined || !head || index >= head.size) return null;
  const proof = await inclusionProof(index, head.size, source(conn, log));
  return { index, size: head.size, inclusionProof: hex(proof), checkpoint: head.jws };
}
