import { setImmediate as turn } from 'node:timers/promises';
import type { Conn } from '../../db/types.ts';
import type {
  AgentCost,
  Analytics,
  AnalyticsGranularity,
  AnomalyFlag,
  LimitUsage,
  SpendAmount,
  SpendBucket,
  SpendByKey,
} from '../../domain/analytics.ts';
import { GatewayError } from '../../domain/index.ts';
import { type ApprovalTime, approvalTimesPage, newestTransactionId } from '../../repositories/analytics.ts';
import {
  type AgentCell,
  agentCells,
  type OutcomeKey,
  outcomeKeys,
  pendingRollups,
  type RollupRow,
  type SpendKey,
  spendKeys,
} from '../../repositories/rollups.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { DEFAULT_POLICY, loadPolicy } from '../policy/index.ts';
import { counts, eachPage, lastHourOf, pacer, spendInWindows } from './rollups.ts';

export interface AnalyticsInput {
  /** Epoch ms; rounded down to the start of its UTC bucket. */
  from: number;
  /** Epoch ms, exclusive; rounded up to the end of its UTC bucket. */
  to: number;
  granularity: AnalyticsGranularity;
}

export const BUCKET_MS: Record<AnalyticsGranularity, number> = { day: 86_400_000, hour: 3_600_000 };
/** At most this many buckets per answer (2,000 hours is 83 days; 2,000 days is five and a half years). */
export const MAX_BUCKETS = 2_000;

/**
 * Anomaly flags: a bucket of one agent is flagged when its value (requests, or counted spend in one
 * currency) is above max(3 × median, median + 4 × MAD, the largest value of the history), and for
 * requests also above MIN_REQUESTS. The history is the agent's previous ANOMALY_WINDOW buckets,
 * counted from its first active bucket (empty buckets count as 0); with fewer than MIN_HISTORY of
 * them, or none of them above 0 for that metric, there is no baseline and no flag. The median and the median absolute deviation (MAD) resist
 * the spikes they look for, where a mean and a standard deviation would be dragged up by them.
 */
export const ANOMALY_WINDOW = 14;
export const MIN_HISTORY = 7;
export const MIN_REQUESTS = 5;

/** How long the console overview reuses a workspace's analytics while no new transaction arrives. */
export const RECENT_ANALYTICS_MS = 30_000;

/**
 * The analytics a page shows (the console overview): the same figures as computeAnalytics, reused
 * for up to RECENT_ANALYTICS_MS while the workspace has no newer transaction. A range's scan costs
 * tens of ms per 10,000 transactions; a page asked for by several people at once pays it once. A
 * decision on an old transaction shows within the 30 s. The API always computes afresh.
 */
export async function recentAnalytics({ ctx, input }: { ctx: ServiceContext; input: AnalyticsInput }) {
  const { deps } = ctx;
  const workspaceId = workspaceOf(ctx);
  const now = deps.clock();
  const newest = await newestTransactionId(deps.db.reader, workspaceId);
  const key = `${workspaceId} ${input.from} ${input.to} ${input.granularity}`;
  const hit = deps.analytics.get(key);
  if (hit && hit.newest === newest && now - hit.at < RECENT_ANALYTICS_MS) {
    return { analytics: hit.value, asOf: hit.at };
  }
  const value = await computeAnalytics({ ctx, input });
  deps.analytics.set(key, { at: now, newest, value });
  return { analytics: value, asOf: now };
}

/** Analytics of the caller's workspace over [from, to) (issue 14, item 6). */
export async function computeAnalytics({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: AnalyticsInput;
}): Promise<Analytics> {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const size = BUCKET_MS[input.granularity];
  const from = Math.floor(input.from / size) * size;
  const to = Math.ceil(input.to / size) * size;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to <= from) {
    throw new GatewayError('VALIDATION_ERROR', 'The range is empty: `from` must be before `to`.', [
      { path: 'from', message: 'must be before to' },
    ]);
  }
  const buckets = (to - from) / size;
  if (buckets > MAX_BUCKETS) {
    throw new GatewayError(
      'VALIDATION_ERROR',
      `The range spans ${buckets} ${input.granularity} buckets; at most ${MAX_BUCKETS} are allowed. Narrow the range or use a coarser granularity.`,
      [{ path: 'to', message: `at most ${MAX_BUCKETS} buckets` }],
    );
  }

  const reader = deps.db.reader;
  // The anomaly baselines need the buckets before `from` too: one pass over the rollups of the
  // longer span serves every figure (the range's own are the buckets from ANOMALY_WINDOW on).
  const origin = from - ANOMALY_WINDOW * size;
  const acc = new Figures(origin, size);
  // One after another, not at once: reads that each turn the loop between their statements would
  // otherwise run a statement each in the same turn.
  await eachPage(reader, { workspaceId, fromHour: origin, toHour: to }, async (page) => {
    for (const cell of await agentCells(reader, page, origin, size)) acc.addCell(cell);
    // The buckets before the range only feed the anomaly baselines.
    if (lastHourOf(page) < from) return;
    await turn();
    for (const key of await spendKeys(reader, page, from)) acc.addSpend(key);
    await turn();
    for (const key of await outcomeKeys(reader, page, from)) acc.addOutcome(key);
  });
  // Executes in flight are not rolled up: their rows, from the partial index of pending ones.
  await turn();
  for (const row of await pendingRollups(reader, workspaceId, origin, to)) acc.add(row);
  const times = await decisionTimes(reader, { workspaceId, from, to });
  await turn();
  const limits = await limitUsage(ctx, workspaceId);
  // Each figure below is a pass over agent × bucket × currency cells (bounded by the range, not the
  // ledger); the loop turns between them once a few ms have gone by.
  const pace = pacer(2);
  const rows = [...acc.agentBuckets.values()];
  const inRange = rows.filter((r) => r.bucket >= ANOMALY_WINDOW);
  const rejections = [...acc.refusals.entries()]
    .map(([ruleId, count]) => ({ ruleId, count }))
    .sort((a, b) => b.count - a.count || ((a.ruleId ?? '') < (b.ruleId ?? '') ? -1 : 1));
  await pace();
  const total = spendTotals(inRange);
  await pace();
  const byAgent = spendByAgent(inRange);
  await pace();
  const byPeriod = spendByPeriod(inRange, from, size, buckets);
  await pace();
  const cost = costs(inRange);
  await pace();
  return {
    range: { from, to, granularity: input.granularity, buckets },
    decisions: acc.decisions(),
    rejections: {
      byRule: rejections.map((r) => ({ ruleId: r.ruleId ?? 'default_action', count: r.count })),
      human: acc.humanRejected,
    },
    decisionTime: {
      count: times.length,
      medianMs: percentile(times, 0.5),
      p90Ms: percentile(times, 0.9),
    },
    spend: {
      total,
      byBusiness: keyed([...acc.byBusiness.values()]),
      byCategory: keyed([...acc.byCategory.values()]),
      byAgent,
      byPeriod,
    },
    limits,
    cost,
    anomalies: await anomalies(rows, origin, size, ANOMALY_WINDOW + buckets, pace),
  };
}

/** Requests, counted spend and costs per agent, bucket and currency. */
interface AgentBucketRow {
  agentId: string;
  bucket: number;
  currency: string;
  requests: number;
  spend: number;
  spendCount: number;
  costMicros: number;
  costCount: number;
}

interface SpendRow {
  key: string | null;
  currency: string;
  amount: number;
  count: number;
}

type Outcome = 'autoApproved' | 'humanApproved' | 'policyRejected' | 'humanRejected' | 'expired' | 'pending';

/** How a proposal was decided, from its status and its approval's (people asked when there is one). */
function outcomeOf(status: string, approval: string | null): Outcome {
  if (approval === 'approved') return 'humanApproved';
  if (approval === 'rejected') return 'humanRejected';
  if (approval === 'expired' || status === 'expired') return 'expired';
  if (approval === 'pending' || status === 'queued' || status === 'pending_approval') return 'pending';
  if (status === 'rejected') return 'policyRejected';
  // Admitted without people: forwarded (whatever the business answered) or an evaluation allowed.
  return 'autoApproved';
}

/**
 * Every figure of the analytics that sums over proposals, summed as the pages of rollups are
 * grouped (per agent, bucket and currency: spend series, costs, anomalies; over the range's own
 * buckets: spend by business and category, outcomes, refusals by rule), and the pending rows too.
 */
class Figures {
  readonly agentBuckets = new Map<string, AgentBucketRow>();
  readonly byBusiness = new Map<string, SpendRow>();
  readonly byCategory = new Map<string, SpendRow>();
  readonly refusals = new Map<string | null, number>();
  readonly outcomes: Record<Outcome, number> = {
    autoApproved: 0,
    humanApproved: 0,
    policyRejected: 0,
    humanRejected: 0,
    expired: 0,
    pending: 0,
  };
  humanRejected = 0;

  constructor(
    private readonly origin: number,
    private readonly size: number,
  ) {}

  addCell(c: AgentCell): void {
    const id = `${c.agentId}\u0000${c.bucket}\u0000${c.currency}`;
    const cell = this.agentBuckets.get(id);
    if (!cell) {
      this.agentBuckets.set(id, { ...c });
      return;
    }
    cell.requests += c.requests;
    cell.spend += c.spend;
    cell.spendCount += c.spendCount;
    cell.costMicros += c.costMicros;
    cell.costCount += c.costCount;
  }

  addSpend(k: SpendKey): void {
    for (const [rows, key] of [
      [this.byBusiness, k.businessId],
      [this.byCategory, k.category],
    ] as const) {
      const id = `${key ?? '\u0001'}\u0000${k.currency}`;
      const r = rows.get(id) ?? { key, currency: k.currency, amount: 0, count: 0 };
      r.amount += k.amount;
      r.count += k.count;
      rows.set(id, r);
    }
  }

  addOutcome(k: OutcomeKey): void {
    this.outcomes[outcomeOf(k.status, k.approval)] += k.requests;
    if (k.approval === 'rejected') this.humanRejected += k.requests;
    if (k.refused) this.refusals.set(k.ruleId, (this.refusals.get(k.ruleId) ?? 0) + k.requests);
  }

  /** A row rolled up at read time (the pending ones), into each figure as the pages are. */
  add(row: RollupRow): void {
    const bucket = Math.floor((row.hour - this.origin) / this.size);
    const counted = counts(row);
    const spend = counted ? row.amount : 0;
    const spendCount = counted ? row.amounts : 0;
    this.addCell({
      agentId: row.agentId,
      bucket,
      currency: row.currency,
      requests: row.requests,
      spend,
      spendCount,
      costMicros: row.costMicros,
      costCount: row.costs,
    });
    if (bucket < ANOMALY_WINDOW) return;
    this.addOutcome(row);
    if (spendCount !== 0) this.addSpend({ ...row, amount: spend, count: spendCount });
  }

  decisions(): Analytics['decisions'] {
    const { autoApproved, humanApproved, policyRejected, humanRejected, expired, pending } = this.outcomes;
    const decided = autoApproved + humanApproved + policyRejected + humanRejected + expired;
    return {
      decided,
      autoApproved,
      humanApproved,
      policyRejected,
      humanRejected,
      expired,
      pending,
      approvalRate: decided === 0 ? null : (autoApproved + humanApproved) / decided,
      autoApproveRate: decided === 0 ? null : autoApproved / decided,
    };
  }
}

/** Approvals read per statement for the decision times. */
const APPROVALS_PAGE = 500;

/**
 * Ms from each approval's creation to its human decision (approved or rejected) over [from, to),
 * ascending: read a page at a time, the loop turning between pages.
 */
async function decisionTimes(
  conn: Conn,
  range: { workspaceId: string; from: number; to: number },
): Promise<Float64Array> {
  const times: number[] = [];
  let after: ApprovalTime | null = null;
  for (;;) {
    await turn();
    const page = await approvalTimesPage(conn, range, after, APPROVALS_PAGE);
    for (const a of page) if (a.status === 'approved' || a.status === 'rejected') times.push(a.ms);
    after = page.at(-1) ?? null;
    if (page.length < APPROVALS_PAGE) break;
  }
  // A typed array sorts numerically in native code: 100,000 times in a few ms.
  return Float64Array.from(times).sort();
}

/** Linear interpolation between the closest ranks (the median of an even count is the mean of the two middle values). */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  const low = sorted[lo] as number;
  const high = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return Math.round(low + (high - low) * (at - lo));
}

const byCurrency = (a: { currency: string }, b: { currency: string }) =>
  a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0;

function spendTotals(rows: AgentBucketRow[]): SpendAmount[] {
  const totals = new Map<string, SpendAmount>();
  for (const r of rows) {
    if (r.spendCount === 0) continue;
    const t = totals.get(r.currency) ?? { currency: r.currency, amount: 0, count: 0 };
    t.amount += r.spend;
    t.count += r.spendCount;
    totals.set(r.currency, t);
  }
  return [...totals.values()].sort(byCurrency);
}

/** By key (null last: the dialects sort nulls differently), then currency. */
const keyed = (rows: SpendRow[]): SpendByKey[] =>
  rows
    .map((r) => ({ key: r.key, currency: r.currency, amount: r.amount, count: r.count }))
    .sort((a, b) =>
      a.key === b.key ? byCurrency(a, b) : a.key === null ? 1 : b.key === null || a.key < b.key ? -1 : 1,
    );

function spendByAgent(rows: AgentBucketRow[]): SpendByKey[] {
  const totals = new Map<string, SpendByKey>();
  for (const r of rows) {
    if (r.spendCount === 0) continue;
    const id = `${r.agentId}\u0000${r.currency}`;
    const t = totals.get(id) ?? { key: r.agentId, currency: r.currency, amount: 0, count: 0 };
    t.amount += r.spend;
    t.count += r.spendCount;
    totals.set(id, t);
  }
  return [...totals.values()].sort((a, b) =>
    a.key === b.key ? byCurrency(a, b) : (a.key ?? '') < (b.key ?? '') ? -1 : 1,
  );
}

/** Every bucket of the range for every currency spent in it (0 where nothing was), oldest first. */
function spendByPeriod(rows: AgentBucketRow[], from: number, size: number, buckets: number): SpendBucket[] {
  const currencies = spendTotals(rows).map((t) => t.currency);
  const series = new Map(
    currencies.map((currency) => [
      currency,
      Array.from({ length: buckets }, (_, i) => ({ start: from + i * size, currency, amount: 0, count: 0 })),
    ]),
  );
  for (const r of rows) {
    const cell = r.spendCount > 0 ? series.get(r.currency)?.[r.bucket - ANOMALY_WINDOW] : undefined;
    if (!cell) continue;
    cell.amount += r.spend;
    cell.count += r.spendCount;
  }
  return [...series.values()].flat().sort((a, b) => a.start - b.start || byCurrency(a, b));
}

function costs(rows: AgentBucketRow[]): Analytics['cost'] {
  const byAgent = new Map<string, AgentCost>();
  let totalMicros = 0;
  let count = 0;
  for (const r of rows) {
    if (r.costCount === 0) continue;
    totalMicros += r.costMicros;
    count += r.costCount;
    const a = byAgent.get(r.agentId) ?? { agentId: r.agentId, costMicros: 0, count: 0 };
    a.costMicros += r.costMicros;
    a.count += r.costCount;
    byAgent.set(r.agentId, a);
  }
  const agents = [...byAgent.values()].sort((a, b) => (a.agentId < b.agentId ? -1 : 1));
  return { totalMicros, count, byAgent: agents };
}

/** Each limit of the active (`default`) policy in its own current window (as `/v1/transactions/summary`). */
async function limitUsage(ctx: ServiceContext, workspaceId: string): Promise<Analytics['limits']> {
  const { deps } = ctx;
  const policy = await loadPolicy(deps, workspaceId, DEFAULT_POLICY);
  if (!policy) return { policy: null, usage: [] };
  const now = deps.clock();
  const limits = policy
    .limitsFor('', '')
    .map((limit) => ({ limit, windowStart: policy.windowStartFor(limit, now) }));
  const windowed = limits.filter((l) => l.windowStart !== null);
  // One pass over the rollups for every window (services/reporting/rollups.ts), as the summary counts them.
  const totals = await spendInWindows(
    deps.db.reader,
    workspaceId,
    windowed.map(({ limit, windowStart }) => ({
      since: windowStart as number,
      categories: limit.categories,
      currency: limit.currency,
    })),
  );
  const usage: LimitUsage[] = limits.map(({ limit, windowStart }) => {
    const base = {
      id: limit.id,
      interval: limit.interval,
      currency: limit.currency,
      categories: limit.categories ? [...limit.categories] : null,
      limit: limit.amount,
    };
    if (windowStart === null) {
      return { ...base, window: null, windowStart: null, used: 0, reserved: 0, share: null };
    }
    const t = totals[windowed.findIndex((w) => w.limit === limit)] ?? { pending: 0, posted: 0 };
    const used = t.posted + t.pending;
    return {
      ...base,
      window: limit.window,
      windowStart,
      used,
      reserved: t.pending,
      share: limit.amount > 0 ? used / limit.amount : null,
    };
  });
  return { policy: { name: policy.name, version: policy.version }, usage };
}

function median(values: readonly number[]): number {
  return (
    percentile(
      [...values].sort((a, b) => a - b),
      0.5,
    ) ?? 0
  );
}

/**
 * The flags of every agent's buckets in the range (see ANOMALY_WINDOW). `rows` count buckets from
 * `origin` (ANOMALY_WINDOW buckets before the range); `total` is how many buckets that spans.
 */
async function anomalies(
  rows: AgentBucketRow[],
  origin: number,
  size: number,
  total: number,
  pace: () => Promise<void>,
): Promise<AnomalyFlag[]> {
  const agents = new Map<string, { requests: number[]; spend: Map<string, number[]> }>();
  for (const r of rows) {
    let a = agents.get(r.agentId);
    if (!a) {
      a = { requests: new Array<number>(total).fill(0), spend: new Map() };
      agents.set(r.agentId, a);
    }
    a.requests[r.bucket] = (a.requests[r.bucket] ?? 0) + r.requests;
    if (r.spendCount > 0) {
      let series = a.spend.get(r.currency);
      if (!series) {
        series = new Array<number>(total).fill(0);
        a.spend.set(r.currency, series);
      }
      series[r.bucket] = (series[r.bucket] ?? 0) + r.spend;
    }
  }
  const flags: AnomalyFlag[] = [];
  for (const [agentId, a] of agents) {
    const first = a.requests.findIndex((n) => n > 0);
    const check = async (values: number[], metric: 'spend' | 'requests', currency: string | null) => {
      for (let i = ANOMALY_WINDOW; i < total; i++) {
        await pace();
        const observed = values[i] ?? 0;
        if (observed <= 0) continue;
        const past = values.slice(Math.max(first, i - ANOMALY_WINDOW), i);
        if (past.length < MIN_HISTORY) continue;
        const m = median(past);
        const mad = median(past.map((v) => Math.abs(v - m)));
        const max = Math.max(...past);
        // Silent for the whole window (overnight, at hourly granularity): nothing to compare with.
        if (max === 0) continue;
        const threshold = Math.max(3 * m, m + 4 * mad, max, metric === 'requests' ? MIN_REQUESTS : 0);
        if (observed > threshold) {
          flags.push({
            agentId,
            metric,
            currency,
            bucketStart: origin + i * size,
            observed,
            baseline: { median: m, mad, max, threshold, window: past.length },
          });
        }
      }
    };
    await check(a.requests, 'requests', null);
    for (const [currency, series] of a.spend) await check(series, 'spend', currency);
  }
  return flags.sort(
    (x, y) =>
      x.bucketStart - y.bucketStart ||
      (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0) ||
      (x.metric < y.metric ? -1 : x.metric > y.metric ? 1 : 0),
  );
}
