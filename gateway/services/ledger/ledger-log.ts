import { canonicalJson } from '../../../policy/canonical.ts';
import { consistencyProof, inclusionProof, type NodeSource } from '../../crypto/merkle.ts';
import type { Conn } from '../../db/types.ts';
import { GatewayError } from '../../domain/index.ts';
import {
  checkpointAt,
  type EntryKind,
  entriesFrom,
  entryIndex,
  type LogEntry,
  newestCheckpoint,
  nodesAt,
  type StoredCheckpoint,
} from '../../repositories/ledger-log.ts';
import type { ServiceContext } from '../context.ts';
import { workspaceOf } from '../context.ts';

/**
 * The ledger log (DESIGN §9): one append-only Merkle log per workspace in the shape of Certificate
 * Transparency (RFC 9162 §2.1) that orders and seals receipts and audit events after they commit.
 * Triggers queue every committed receipt and chained audit event; the sequencer appends them in
 * batches (services/sequencer/), one per log at a time across replicas, and signs a checkpoint per batch.
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
/** The bytes an entry hashes: the RFC 8785 canonical JSON of its object (DESIGN §9). */
export function entryBytes(entry: Pick<LogEntry, 'kind' | 'ref' | 'jws' | 'hash'>): Buffer {
  const object =
    entry.kind === 'receipt'
      ? { kind: 'receipt', jws: entry.jws }
      : { kind: 'audit', id: entry.ref, hash: entry.hash };
  return Buffer.from(canonicalJson(object), 'utf8');
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
