import type {
  AgentCost,
  Analytics,
  AnalyticsGranularity,
  AnomalyFlag,
  LimitUsage,
  SpendAmount,
  SpendBucket,
  SpendByKey,
} from '../domain/analytics.ts';
import { GatewayError } from '../domain/index.ts';
import { idRange } from '../ids.ts';
import {
  decisionTimes,
  newestTransactionId,
  type ProposalGroup,
  proposalGroups,
  type Range,
} from '../repositories/analytics.ts';
import { sumSpend } from '../repositories/transactions.ts';
import { type Deps, type ServiceContext, workspaceOf } from './context.ts';
import { DEFAULT_POLICY, loadPolicy } from './policies.ts';

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
const recent = new WeakMap<Deps, Map<string, { at: number; newest: string | null; value: Analytics }>>();

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
  const entries = recent.get(deps) ?? new Map();
  recent.set(deps, entries);
  const key = `${workspaceId} ${input.from} ${input.to} ${input.granularity}`;
  const hit = entries.get(key);
  if (hit && hit.newest === newest && now - hit.at < RECENT_ANALYTICS_MS) {
    return { analytics: hit.value, asOf: hit.at };
  }
  const value = await computeAnalytics({ ctx, input });
  if (entries.size >= 1_000) entries.clear();
  entries.set(key, { at: now, newest, value });
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
  const range = rangeOf(workspaceId, from, to);
  // The anomaly baselines need the buckets before `from` too: one scan of the longer range serves
  // every figure (the range's own are the groups from bucket ANOMALY_WINDOW on).
  const history = rangeOf(workspaceId, from - ANOMALY_WINDOW * size, to);
  const [groups, times, limits] = await Promise.all([
    proposalGroups(reader, history, size),
    decisionTimes(reader, range),
    limitUsage(ctx, workspaceId),
  ]);
  const rows = agentBucketRows(groups);
  const current = groups.filter((g) => g.bucket >= ANOMALY_WINDOW);
  const byBusiness = spendRows(current, (g) => g.businessId);
  const byCategory = spendRows(current, (g) => g.category);
  const outcomeRows = current.map((g) => ({ status: g.status, approval: g.approval, count: g.requests }));
  const rejections = refusalsByRule(current);

  const inRange = rows.filter((r) => r.bucket >= ANOMALY_WINDOW);
  return {
    range: { from, to, granularity: input.granularity, buckets },
    decisions: decisionCounts(outcomeRows),
    rejections: {
      byRule: rejections.map((r) => ({ ruleId: r.ruleId ?? 'default_action', count: r.count })),
      human: outcomeRows.filter((r) => r.approval === 'rejected').reduce((n, r) => n + r.count, 0),
    },
    decisionTime: {
      count: times.length,
      medianMs: percentile(times, 0.5),
      p90Ms: percentile(times, 0.9),
    },
    spend: {
      total: spendTotals(inRange),
      byBusiness: keyed(byBusiness),
      byCategory: keyed(byCategory),
      byAgent: spendByAgent(inRange),
      byPeriod: spendByPeriod(inRange, from, size, buckets),
    },
    limits,
    cost: costs(inRange),
    anomalies: anomalies(rows, from - ANOMALY_WINDOW * size, size, ANOMALY_WINDOW + buckets),
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

function agentBucketRows(groups: ProposalGroup[]): AgentBucketRow[] {
  const rows = new Map<string, AgentBucketRow>();
  for (const g of groups) {
    const id = `${g.agentId}\u0000${g.bucket}\u0000${g.currency}`;
    const row = rows.get(id) ?? {
      agentId: g.agentId,
      bucket: g.bucket,
      currency: g.currency,
      requests: 0,
      spend: 0,
      spendCount: 0,
      costMicros: 0,
      costCount: 0,
    };
    row.requests += g.requests;
    row.spend += g.spend;
    row.spendCount += g.spendCount;
    row.costMicros += g.costMicros;
    row.costCount += g.costCount;
    rows.set(id, row);
  }
  return [...rows.values()];
}

interface SpendRow {
  key: string | null;
  currency: string;
  amount: number;
  count: number;
}

/** Counted spend by one key (business or category) and currency. */
function spendRows(groups: ProposalGroup[], keyOf: (g: ProposalGroup) => string | null): SpendRow[] {
  const rows = new Map<string, SpendRow>();
  for (const g of groups) {
    if (g.spendCount === 0) continue;
    const key = keyOf(g);
    const id = `${key ?? '\u0001'}\u0000${g.currency}`;
    const row = rows.get(id) ?? { key, currency: g.currency, amount: 0, count: 0 };
    row.amount += g.spend;
    row.count += g.spendCount;
    rows.set(id, row);
  }
  return [...rows.values()];
}

/** Policy refusals (never parked for people) by the rule or control that refused, most first. */
function refusalsByRule(groups: ProposalGroup[]): { ruleId: string | null; count: number }[] {
  const counts = new Map<string | null, number>();
  for (const g of groups)
    if (g.policyRejected) counts.set(g.ruleId, (counts.get(g.ruleId) ?? 0) + g.requests);
  return [...counts.entries()]
    .map(([ruleId, count]) => ({ ruleId, count }))
    .sort((a, b) => b.count - a.count || ((a.ruleId ?? '') < (b.ruleId ?? '') ? -1 : 1));
}

function rangeOf(workspaceId: string, from: number, to: number): Range {
  const executes = idRange('transaction', from, to);
  const evaluations = idRange('evaluation', from, to);
  return { workspaceId, from, to, ids: [...executes, ...evaluations] };
}

function decisionCounts(rows: { status: string; approval: string | null; count: number }[]) {
  let autoApproved = 0;
  let humanApproved = 0;
  let policyRejected = 0;
  let humanRejected = 0;
  let expired = 0;
  let pending = 0;
  for (const { status, approval, count } of rows) {
    if (approval === 'approved') humanApproved += count;
    else if (approval === 'rejected') humanRejected += count;
    else if (approval === 'expired' || status === 'expired') expired += count;
    else if (approval === 'pending' || status === 'queued' || status === 'pending_approval') pending += count;
    else if (status === 'rejected') policyRejected += count;
    // Admitted without people: forwarded (whatever the business answered) or an evaluation allowed.
    else autoApproved += count;
  }
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

/** Linear interpolation between the closest ranks (the median of an even count is the mean of the two middle values). */
export function percentile(sorted: readonly number[], p: number): number | null {
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
  const usage: LimitUsage[] = [];
  for (const limit of policy.limitsFor('', '')) {
    const windowStart = policy.windowStartFor(limit, now);
    const base = {
      id: limit.id,
      interval: limit.interval,
      currency: limit.currency,
      categories: limit.categories ? [...limit.categories] : null,
      limit: limit.amount,
    };
    if (windowStart === null) {
      usage.push({ ...base, window: null, windowStart: null, used: 0, reserved: 0, share: null });
      continue;
    }
    const totals = await sumSpend(deps.db.reader, {
      workspaceId,
      since: windowStart,
      categories: limit.categories,
      currency: limit.currency,
    });
    const used = totals.posted + totals.pending;
    usage.push({
      ...base,
      window: limit.window,
      windowStart,
      used,
      reserved: totals.pending,
      share: limit.amount > 0 ? used / limit.amount : null,
    });
  }
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
function anomalies(rows: AgentBucketRow[], origin: number, size: number, total: number): AnomalyFlag[] {
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
    const check = (values: number[], metric: 'spend' | 'requests', currency: string | null) => {
      for (let i = ANOMALY_WINDOW; i < total; i++) {
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
    check(a.requests, 'requests', null);
    for (const [currency, series] of a.spend) check(series, 'spend', currency);
  }
  return flags.sort(
    (x, y) =>
      x.bucketStart - y.bucketStart ||
      (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0) ||
      (x.metric < y.metric ? -1 : x.metric > y.metric ? 1 : 0),
  );
}
