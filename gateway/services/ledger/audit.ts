import { setImmediate as turn } from 'node:timers/promises';
import type { Conn, TxScope } from '../../db/types.ts';
import type { AuditEvent, ChainedAuditEvent } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import {
  auditChains,
  auditHash,
  chainOf,
  chainPage,
  chainUnchained,
  firstUnchained,
  listAudit,
  nthAuditIdDown,
} from '../../repositories/audit.ts';
import { auditEntriesFrom } from '../../repositories/ledger-log.ts';
import { type Deps, type ServiceContext, workspaceOf } from '../context.ts';

/** An audit event of `ctx`'s actor in its workspace, now (DESIGN §9); write it in the change's transaction. */
export function auditEvent(
  ctx: ServiceContext,
  action: string,
  target: string | null,
  data: Record<string, unknown> = {},
  at = ctx.deps.clock(),
): AuditEvent {
  return {
    id: newId('audit'),
    workspaceId: ctx.workspaceId,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id,
    action,
    target,
    data,
    createdAt: at,
  };
}

/**
 * The scope of a transaction that appends to `workspaceId`'s audit chain: that workspace's, or
 * for the operator's own events (no workspace) one scope of their own, so one writer at a time
 * extends a chain (the unique place index refuses a fork in any case).
 */
export function chainScope(workspaceId: string | null): TxScope {
  return { workspaceId: workspaceId ?? 'operator' };
}

export interface AuditListQuery {
  limit: number;
  cursor?: string;
  action?: string;
  actor?: string;
  target?: string;
  from?: string;
  to?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Index entries a filtered audit list reads per statement. */
export const AUDIT_SCAN = 1_000;

/**
 * The workspace's audit events, newest first, filtered, with the cursor of the next page. A filter
 * that matches few events is read AUDIT_SCAN index entries at a time, the loop turning between
 * them (issue 18), rather than in one statement that walks the whole log.
 */
export async function listAuditEvents({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { query: AuditListQuery; scan?: number };
}) {
  const { query, scan = AUDIT_SCAN } = input;
  const reader = ctx.deps.db.reader;
  const workspaceId = workspaceOf(ctx);
  const q = {
    limit: query.limit,
    cursor: query.cursor,
    action: query.action,
    actorId: query.actor,
    target: query.target,
    from: query.from === undefined ? undefined : Date.parse(query.from),
    to: query.to === undefined ? undefined : Date.parse(query.to),
  };
  const filtered = [q.action, q.actorId, q.target, q.from, q.to].some((v) => v !== undefined);
  let events: ChainedAuditEvent[] = [];
  if (!filtered) events = await listAudit(reader, workspaceId, q);
  else {
    let hi = q.cursor;
    for (;;) {
      const lo = await nthAuditIdDown(reader, workspaceId, hi, scan);
      const chunk = { ...q, cursor: undefined, lo, hi, limit: q.limit - events.length };
      events.push(...(await listAudit(reader, workspaceId, chunk)));
      if (events.length >= q.limit || lo === undefined) break;
      hi = lo;
      await turn();
    }
  }
  const next = events.length === query.limit ? (events.at(-1)?.id ?? null) : null;
  return {
    events: events.map((e) => ({
      id: e.id,
      action: e.action,
      actor: { type: e.actorType, id: e.actorId },
      target: e.target,
      data: e.data,
      createdAt: iso(e.createdAt),
      seq: e.seq,
      prevHash: e.prevHash,
      hash: e.hash,
    })),
    nextCursor: next,
    /** The same as nextCursor (the parameter used to be `before`). */
    nextBefore: next,
  };
}

export interface ChainVerdict {
  valid: boolean;
  checked: number;
  firstBrokenId: string | null;
}

/** Events hashed per statement: a few ms of SHA-256 and RFC 8785; the loop turns between pages. */
const PAGE = 250;

/**
 * Recomputes one chain (DESIGN §9): every row's hash over its columns, its `prev_hash` against the
 * row before it, and no place skipped (a deleted row leaves its successor pointing at nothing).
 * A row that was never chained is broken too: every write goes through the chain. Then checks the
 * chain against the ledger log, which names every appended event by id and hash.
 */
export async function verifyChain(conn: Conn, chain: string): Promise<ChainVerdict> {
  let checked = 0;
  let prev: string | null = null;
  let seq = 0;
  for (;;) {
    const rows = await chainPage(conn, chain, seq, PAGE);
    for (const row of rows) {
      checked++;
      const intact = row.seq === seq + 1 && row.prev_hash === prev && row.hash === auditHash(row);
      if (!intact) return { valid: false, checked, firstBrokenId: row.id };
      prev = row.hash;
      seq = row.seq ?? seq;
    }
    if (rows.length < PAGE) break;
    await turn();
  }
  const stray = await firstUnchained(conn, chain);
  if (stray) return { valid: false, checked: checked + 1, firstBrokenId: stray };
  const gone = await firstGoneFromLog(conn, chain);
  if (gone) return { valid: false, checked, firstBrokenId: gone };
  return { valid: true, checked, firstBrokenId: null };
}

/**
 * The ledger log holds each appended audit event's id and hash (DESIGN §9): the first entry whose
 * event is missing or hashes otherwise now. This is what finds the newest events deleted, which
 * leave the chain itself intact.
 */
async function firstGoneFromLog(conn: Conn, chain: string): Promise<string | null> {
  for (let start = 0; ; ) {
    const entries = await auditEntriesFrom(conn, chain, start, PAGE);
    for (const entry of entries) {
      if (entry.stored !== entry.hash) return entry.id;
    }
    const last = entries.at(-1);
    if (entries.length < PAGE || last === undefined) return null;
    start = last.index + 1;
    await turn();
  }
}

/** GET /v1/audit/verify: the caller's workspace chain. */
export function verifyAuditChain({ ctx }: { ctx: ServiceContext }): Promise<ChainVerdict> {
  return verifyChain(ctx.deps.db.reader, chainOf(workspaceOf(ctx)));
}

/** `warden audit verify`: every chain, the operator's ('') included. */
export async function verifyAllChains(conn: Conn): Promise<{ chain: string; verdict: ChainVerdict }[]> {
  const chains = (await auditChains(conn)).sort();
  const out: { chain: string; verdict: ChainVerdict }[] = [];
  for (const chain of chains) out.push({ chain, verdict: await verifyChain(conn, chain) });
  return out;
}

/**
 * Chains the rows written before the chain existed, or by a replica still running an older
 * version: at start, before serving, in batches. Answers how many it chained.
 */
export async function chainLegacyAudit(deps: Pick<Deps, 'db'>): Promise<number> {
  let total = 0;
  for (;;) {
    const chained = await deps.db.transaction({ key: 'audit-backfill' }, (tx) => chainUnchained(tx, 500));
    total += chained;
    if (chained === 0) return total;
  }
}
