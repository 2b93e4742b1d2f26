import { setImmediate as turn } from 'node:timers/promises';
import {
  GatewayError,
  type StoredResponse,
  type SummaryRow,
  type Transaction,
  type TransactionFilter,
} from '../../domain/index.ts';
import { idRange } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { hourSpend, pendingRollups, summaryGroups } from '../../repositories/rollups.ts';
import {
  getTransaction as find,
  type IdSpan,
  listTransactions as list,
  nthIdDown,
} from '../../repositories/transactions.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { recordFinish } from '../execute/index.ts';
import { auditEvent, readReceipt } from '../ledger/index.ts';
import { DEFAULT_POLICY, loadPolicy } from '../policy/index.ts';
import { counts, eachPage, floorHour, lastHourOf, OPEN_END, windowSpend } from './rollups.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const viewTransaction = (t: Transaction, withDecision = false) => ({
  transactionId: t.id,
  status: t.status,
  operation: t.operation,
  businessId: t.businessId,
  businessCategory: t.businessCategory,
  agentId: t.agentId,
  amount: t.amount,
  currency: t.currency,
  spend: t.spendState,
  policy: t.policyName,
  policyVersionId: t.policyVersionId,
  costMicros: t.costMicros,
  ...(t.releaseAt === null ? {} : { releaseAt: iso(t.releaseAt) }),
  ...(t.approvalId === null ? {} : { approvalId: t.approvalId }),
  ...(withDecision
    ? {
        request: t.request,
        data: t.data,
        error: t.error,
        decision: t.decision,
        mcp: t.mcp,
        oauthClientId: t.oauthClientId,
      }
    : {}),
  createdAt: iso(t.createdAt),
  updatedAt: iso(t.updatedAt),
});

/** Index entries a filtered list reads per statement: about a millisecond on SQLite. */
export const LIST_SCAN = 1_000;
/** How far a ledger id's time may be from its `created_at` (rows from before ids carried it). */
const ID_TIME_SLACK_MS = 60_000;

/**
 * Where the rows a filter can match are, as spans of ids, top first (ids are ULIDs of the
 * admission time, `txn_` above `evl_`): an operation names one prefix, a time range a span of it.
 */
function spansOf(f: TransactionFilter): IdSpan[] {
  if (f.operation === undefined && f.from === undefined && f.to === undefined) return [{}];
  const kinds =
    f.operation === undefined
      ? (['transaction', 'evaluation'] as const)
      : f.operation === 'evaluate'
        ? (['evaluation'] as const)
        : (['transaction'] as const);
  const from = f.from === undefined ? 0 : f.from - ID_TIME_SLACK_MS;
  const to = f.to === undefined ? 2 ** 48 - 1 : f.to + ID_TIME_SLACK_MS;
  return kinds.map((kind) => {
    const [lo, hi] = idRange(kind, from, to);
    return { lo, hi };
  });
}

const filtered = (f: TransactionFilter) =>
  Object.entries(f).some(([k, v]) => v !== undefined && k !== 'limit' && k !== 'cursor');

/**
 * The ledger newest first, filtered, a page at a time (issue 18). A filter that matches few rows
 * (a rare status, an agent with no traffic) would have one statement walk the whole workspace;
 * the rows are read instead LIST_SCAN index entries at a time, the loop turning between them, over
 * only the spans of ids the operation and the time range allow.
 */
export async function listTransactions({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { filter: TransactionFilter; scan?: number };
}) {
  const { filter, scan = LIST_SCAN } = input;
  const reader = ctx.deps.db.reader;
  const workspaceId = workspaceOf(ctx);
  // One more than asked tells whether another page exists.
  const want = filter.limit + 1;
  let rows: Transaction[] = [];
  if (!filtered(filter)) {
    rows = await list(reader, workspaceId, { ...filter, limit: want });
  } else {
    const cursor = filter.cursor;
    for (const span of spansOf(filter)) {
      let hi = cursor !== undefined && (span.hi === undefined || cursor < span.hi) ? cursor : span.hi;
      if (hi !== undefined && span.lo !== undefined && hi <= span.lo) continue;
      for (;;) {
        const floor = await nthIdDown(reader, workspaceId, { lo: span.lo, hi }, scan);
        const chunk = { lo: floor ?? span.lo, hi };
        rows.push(
          ...(await list(reader, workspaceId, {
            ...filter,
            cursor: undefined,
            ...chunk,
            limit: want - rows.length,
          })),
        );
        if (rows.length >= want || floor === undefined) break;
        hi = floor;
        await turn();
      }
      if (rows.length >= want) break;
    }
  }
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    transactions: page.map((t) => viewTransaction(t)),
    nextCursor: rows.length > filter.limit && last ? last.id : null,
  };
}

export async function getTransaction({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const { id } = input;
  const txn = await find(ctx.deps.db.reader, workspaceOf(ctx), id);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${id}.`);
  // A stored receipt naming another transaction is not this one's (logged; the console says why).
  const read = await readReceipt(ctx, { transactionId: txn.id, workspaceId: txn.workspaceId });
  return { ...viewTransaction(txn, true), receipt: read && 'jws' in read ? read.jws : null };
}

const INTERVAL_MS = { day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 } as const;

/** Executes that count, grouped one way: by key (null as ''), in key order. */
class Groups {
  readonly #rows = new Map<string, SummaryRow>();
  add(key: string | null, count: number, amount: number) {
    const k = key ?? '';
    const row = this.#rows.get(k) ?? { key: k, count: 0, amount: 0 };
    row.count += count;
    row.amount += amount;
    this.#rows.set(k, row);
  }
  rows(): SummaryRow[] {
    return [...this.#rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

/**
 * Spend over the last day/week/month by business, category and agent, and each limit of the
 * policy: used (posted), reserved (pending) and what remains, in that limit's own window.
 *
 * The breakdowns count the executes admitted from the start of the UTC hour `interval` before now
 * (`from`, at most 59 min 59 s earlier than now minus the interval) to now: they are read from the
 * hourly rollups (issue 18), one pass that serves the limits too, a page at a time, so the cost
 * follows the hours and combinations covered rather than the size of the ledger.
 */
export async function summarize({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { interval: keyof typeof INTERVAL_MS; policyName?: string };
}) {
  const { interval, policyName = DEFAULT_POLICY } = input;
  const workspaceId = workspaceOf(ctx);
  const reader = ctx.deps.db.reader;
  const now = ctx.deps.clock();
  const since = floorHour(now - INTERVAL_MS[interval]);
  const policy = await loadPolicy(ctx.deps, workspaceId, policyName);
  const limits = (policy?.limitsFor('', '') ?? []).map((limit) => ({
    limit,
    windowStart: policy?.windowStartFor(limit, now) ?? null,
  }));
  const windowed = limits.filter((l) => l.windowStart !== null);
  const spend = windowSpend(
    workspaceId,
    windowed.map(({ limit, windowStart }) => ({
      since: windowStart as number,
      categories: limit.categories,
      currency: limit.currency,
    })),
  );
  const byBusiness = new Groups();
  const byCategory = new Groups();
  const byAgent = new Groups();
  const start = Math.min(since, spend.from);
  await eachPage(reader, { workspaceId, fromHour: start, toHour: OPEN_END }, async (page) => {
    // A page wholly before the span (or before every window) is not grouped for it.
    const last = lastHourOf(page);
    if (last >= since) {
      for (const g of await summaryGroups(reader, page, since)) {
        byBusiness.add(g.businessId, g.requests, g.amount);
        byCategory.add(g.category, g.requests, g.amount);
        byAgent.add(g.agentId, g.requests, g.amount);
      }
    }
    if (windowed.length === 0 || last < spend.from) return;
    await turn();
    for (const h of await hourSpend(reader, page)) spend.addHour(h);
  });
  // Executes in flight are not rolled up: their rows, from the partial index of pending ones.
  for (const row of await pendingRollups(reader, workspaceId, start, OPEN_END)) {
    spend.addRow(row);
    if (row.hour < since || row.operation !== 'execute' || !counts(row)) continue;
    byBusiness.add(row.businessId, row.requests, row.amount);
    byCategory.add(row.category, row.requests, row.amount);
    byAgent.add(row.agentId, row.requests, row.amount);
  }
  const totals = await spend.finish(reader);
  return {
    interval,
    from: iso(since),
    to: iso(now),
    byBusiness: byBusiness.rows(),
    byCategory: byCategory.rows(),
    byAgent: byAgent.rows(),
    policy: policy ? { name: policy.name, version: policy.version } : null,
    limits: limits.map(({ limit, windowStart }) => {
      if (windowStart === null) {
        return {
          id: limit.id,
          interval: limit.interval,
          amount: limit.amount,
          currency: limit.currency,
          perTransaction: true as const,
        };
      }
      const t = totals[windowed.findIndex((w) => w.limit === limit)] ?? { pending: 0, posted: 0 };
      return {
        id: limit.id,
        interval: limit.interval,
        window: limit.window,
        currency: limit.currency,
        amount: limit.amount,
        windowStart: iso(windowStart),
        used: t.posted,
        reserved: t.pending,
        remaining: Math.max(0, limit.amount - t.posted - t.pending),
      };
    }),
  };
}

export interface ResolveRequest {
  status: 'succeeded' | 'failed';
  reason: string;
}

/**
 * An admin settles an execute whose outcome is unknown (DESIGN §4), having learned it from the
 * business: the reservation is posted (succeeded) or voided (failed), a later repeat with the
 * Idempotency-Key replays the settled answer, and the resolution is audited in the same transaction.
 */
export async function resolveTransaction({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: ResolveRequest & { id: string };
}) {
  const { id } = input;
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const txn = await find(deps.db.reader, workspaceId, id);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${id}.`);
  const conflict = () =>
    new GatewayError('CONFLICT', 'Only a transaction whose outcome is unknown can be resolved.', {
      status: txn.status,
    });
  if (txn.status !== 'unknown') throw conflict();
  const at = deps.clock();
  const response: StoredResponse =
    input.status === 'succeeded'
      ? { status: 200, body: { transactionId: id, status: 'succeeded', data: null } }
      : {
          status: 502,
          body: {
            error: 'The business did not execute this request (settled by a workspace admin).',
            code: 'ADAPTER_ERROR',
            details: { transactionId: id, status: 'failed' },
          },
        };
  const error =
    input.status === 'failed'
      ? { code: 'RESOLVED_FAILED', message: `Resolved by an admin: ${input.reason}` }
      : null;
  const audit = auditEvent(
    ctx,
    'transaction.resolved',
    id,
    { status: input.status, reason: input.reason, previous: 'unknown' },
    at,
  );
  const outcome = { status: input.status, data: null, error, answer: response };
  const resolved = await deps.db.transaction({ workspaceId }, async (tx) => {
    // The status, the reservation, the receipt, the replayed answer and the event, as for a business
    // answer; the resolution's audit event in the same transaction.
    const from: ['unknown', 'unknown'] = ['unknown', 'unknown'];
    if (!(await recordFinish(tx, ctx, { transaction: txn, outcome, at, from }))) return false;
    await appendAudit(tx, audit);
    return true;
  });
  // A repeat or a late answer settled it between the read and the write.
  if (!resolved) throw conflict();
  return getTransaction({ ctx, input: { id } });
}
