import { performance } from 'node:perf_hooks';
import { type Conn, type Db, placeholders, sql } from '../../gateway/db/types.ts';
import type { Operation, SpendState, TransactionStatus } from '../../gateway/domain/index.ts';
import { newId, newIdAt } from '../../gateway/ids.ts';

/**
 * A large ledger written straight into the tables (issue 18): rows shaped as production writes
 * them (statuses with their spend state, approvals for parked and decided ones, the spend buckets
 * of what counts), a hundred thousand in seconds rather than a hundred thousand HTTP calls.
 * Deterministic: row i always gets the same agent, business, status and amount.
 */

export const SEED_AGENTS = ['buyer', 'planner', 'scout', 'auditor'] as const;
export const SEED_BUSINESSES = [
  { id: 'shop', category: 'retail' },
  { id: 'air', category: 'travel' },
  { id: 'cafe', category: 'food' },
] as const;

export interface SeedOptions {
  workspaceId: string;
  /** An agent key id of the workspace (rows name one; lists do not join it). */
  agentKeyId: string;
  count: number;
  /** The newest row's time; the others reach back `spanMs` before it. */
  now: number;
  spanMs: number;
  /** Offsets the row pattern, so two seeds of one workspace differ. */
  offset?: number;
  /**
   * Pending executes older than this are seeded `unknown`, as the orphan sweep leaves them after
   * ADAPTER_TIMEOUT_MS + ORPHAN_GRACE_SECONDS (default two minutes: only the newest are in flight).
   */
  inFlightMs?: number;
  /** The schema is from before spend buckets had shards (a migration test seeds an older schema). */
  unshardedSpend?: boolean;
}

interface Shape {
  operation: Operation;
  status: TransactionStatus;
  spend: SpendState;
  approval: 'pending' | 'approved' | 'rejected' | 'expired' | null;
  refusal: { ruleId?: string } | null;
  admitted: boolean;
}

/** Row i's operation, status and what follows from them (about 80 % succeeded executes). */
function shapeOf(i: number): Shape {
  const ok = (status: TransactionStatus, spend: SpendState, approval: Shape['approval'] = null): Shape => ({
    operation: 'execute',
    status,
    spend,
    approval,
    refusal: null,
    admitted: true,
  });
  if (i % 20 === 0) {
    return {
      operation: 'query',
      status: 'succeeded',
      spend: 'none',
      approval: null,
      refusal: null,
      admitted: false,
    };
  }
  if (i % 20 === 1) {
    const e = (i >> 5) % 4;
    const base = { operation: 'evaluate' as const, approval: null, admitted: true };
    if (e === 0) return { ...base, status: 'approved', spend: 'pending', refusal: null };
    if (e === 1) return { ...base, status: 'succeeded', spend: 'posted', refusal: null };
    if (e === 2) return { ...base, status: 'failed', spend: 'voided', refusal: null };
    return {
      ...base,
      status: 'rejected',
      spend: 'none',
      refusal: { ruleId: 'evaluate-deny' },
      admitted: false,
    };
  }
  const r = i % 100;
  if (r < 80 || r >= 98) return ok('succeeded', 'posted');
  if (r < 85) return ok('failed', 'voided');
  if (r < 89) {
    return {
      operation: 'execute',
      status: 'rejected',
      spend: 'none',
      approval: null,
      // A refusal by a rule, by a control, and one whose decision names none.
      refusal: r === 85 ? { ruleId: 'no-gift-cards' } : r === 86 ? { ruleId: 'daily' } : {},
      admitted: false,
    };
  }
  if (r < 91) return ok('pending_approval', 'pending', 'pending');
  if (r === 91) return ok('rejected', 'voided', 'rejected');
  if (r === 92) return ok('expired', 'voided', 'expired');
  if (r === 93) return ok('succeeded', 'posted', 'approved');
  if (r === 94) return ok('unknown', 'pending');
  if (r === 95) return ok('queued', 'pending');
  if (r === 96) return ok('pending', 'pending');
  return ok('pending_confirmation', 'voided');
}

const TX_COLUMNS = [
  'id',
  'workspace_id',
  'agent_key_id',
  'agent_id',
  'business_id',
  'operation',
  'status',
  'request',
  'request_hash',
  'amount',
  'currency',
  'decision',
  'policy_name',
  'business_category',
  'spend_state',
  'release_at',
  'approval_id',
  'cost_micros',
  'created_at',
  'updated_at',
] as const;

const inserts = new Map<string, ReturnType<typeof sql>>();
function insertOf(table: string, columns: readonly string[], rows: number, suffix = '') {
  const key = `${table} ${rows} ${suffix}`;
  let statement = inserts.get(key);
  if (!statement) {
    const tuple = `(${placeholders(columns.length)})`;
    statement = sql(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}${suffix}`,
    );
    inserts.set(key, statement);
  }
  return statement;
}

async function insertRows(
  tx: Conn,
  table: string,
  columns: readonly string[],
  rows: unknown[][],
  suffix = '',
) {
  const per = Math.floor(8_000 / columns.length);
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    await tx.run(insertOf(table, columns, chunk.length, suffix), chunk.flat());
  }
}

const MINUTE = 60_000;

/** Writes `count` transactions (with their approvals and spend) into the workspace; answers how long it took. */
export async function seedLedger(db: Db, o: SeedOptions): Promise<{ ms: number }> {
  const started = performance.now();
  const offset = o.offset ?? 0;
  const step = o.count > 1 ? o.spanMs / (o.count - 1) : 0;
  const BATCH = 5_000;
  for (let from = 0; from < o.count; from += BATCH) {
    const txRows: unknown[][] = [];
    const approvalRows: unknown[][] = [];
    const stageRows: unknown[][] = [];
    const spend = new Map<string, { key: unknown[]; pending: number; posted: number }>();
    for (let n = from; n < Math.min(o.count, from + BATCH); n++) {
      const i = n + offset;
      // Oldest first, so ids (ULIDs of their time) rise with created_at.
      const createdAt = Math.round(o.now - o.spanMs + n * step);
      let shape = shapeOf(i);
      if (shape.status === 'pending' && createdAt < o.now - (o.inFlightMs ?? 120_000)) {
        shape = { ...shape, status: 'unknown' };
      }
      const agentId = SEED_AGENTS[i % SEED_AGENTS.length] as string;
      const business = SEED_BUSINESSES[(i >> 2) % SEED_BUSINESSES.length] as (typeof SEED_BUSINESSES)[number];
      const evaluation = shape.operation === 'evaluate';
      const currency = shape.operation === 'query' ? null : i % 7 === 0 ? 'EUR' : 'USD';
      const amount = shape.operation === 'query' || i % 50 === 3 ? null : 100 + ((i * 37) % 5_000);
      const spendState: SpendState = amount === null ? 'none' : shape.spend;
      const approvalId = shape.approval ? newId('approval') : null;
      const id = newIdAt(evaluation ? 'evaluation' : 'transaction', createdAt);
      const decision = shape.refusal
        ? { outcome: 'reject', ...shape.refusal, checks: [] }
        : shape.admitted
          ? { outcome: shape.approval ? 'approval' : 'auto_approve', checks: [] }
          : null;
      txRows.push([
        id,
        o.workspaceId,
        o.agentKeyId,
        agentId,
        evaluation ? null : business.id,
        shape.operation,
        shape.status,
        JSON.stringify({ sku: `sku-${i}`, amount_cents: amount }),
        `hash-${i}`,
        amount,
        currency,
        decision === null ? null : JSON.stringify(decision),
        'default',
        evaluation ? null : business.category,
        spendState,
        shape.status === 'queued' ? createdAt + 3_600_000 : null,
        approvalId,
        shape.admitted ? (i % 3 === 0 ? 2_500 : 1_000) : null,
        createdAt,
        createdAt + 1_000,
      ]);
      if (approvalId) {
        const decidedAt = createdAt + 60_000 + ((i * 7_919) % 3_600_000);
        const decided = shape.approval !== 'pending';
        approvalRows.push([
          approvalId,
          o.workspaceId,
          id,
          `hash-${i}`,
          shape.approval,
          createdAt,
          decided ? decidedAt : createdAt,
        ]);
        stageRows.push([
          approvalId,
          0,
          0,
          'admin',
          'standard',
          1,
          86_400,
          'reject',
          shape.approval,
          createdAt,
          createdAt + 86_400_000,
          decided ? decidedAt : null,
        ]);
      }
      if (amount !== null && (spendState === 'pending' || spendState === 'posted')) {
        const minute = Math.floor(createdAt / MINUTE) * MINUTE;
        const category = evaluation ? '' : business.category;
        const key = `${category} ${currency} ${minute}`;
        const cell = spend.get(key) ?? {
          key: [o.workspaceId, category, currency, minute],
          pending: 0,
          posted: 0,
        };
        if (spendState === 'pending') cell.pending += amount;
        else cell.posted += amount;
        spend.set(key, cell);
      }
    }
    await db.transaction({ workspaceId: o.workspaceId }, async (tx) => {
      // Approvals first: a parked transaction's row names an approval that exists.
      await insertRows(
        tx,
        'approvals',
        ['id', 'workspace_id', 'transaction_id', 'request_hash', 'status', 'created_at', 'updated_at'],
        approvalRows,
      );
      await insertRows(
        tx,
        'approval_stages',
        [
          'approval_id',
          'position',
          'stage_index',
          'role',
          'tier',
          'quorum',
          'timeout_seconds',
          'on_timeout',
          'status',
          'activated_at',
          'deadline_at',
          'decided_at',
        ],
        stageRows,
      );
      await insertRows(tx, 'transactions', TX_COLUMNS, txRows);
      await insertRows(
        tx,
        'spend_buckets',
        ['workspace_id', 'category', 'currency', 'minute', 'pending', 'posted'],
        [...spend.values()].map((c) => [...c.key, c.pending, c.posted]),
        ` ON CONFLICT (workspace_id, minute, category, currency${o.unshardedSpend ? '' : ', shard'}) DO UPDATE SET
           pending = spend_buckets.pending + excluded.pending, posted = spend_buckets.posted + excluded.posted`,
      );
    });
  }
  return { ms: performance.now() - started };
}

/**
 * Runs `fn` while a setImmediate ping measures the event loop: the longest stretch in which the
 * loop could not turn (a synchronous query, a long computation) is `maxBlockMs`. On a shared machine
 * that wall-clock figure also counts the time the process waited for a core; `maxBlockCpuMs` is the
 * CPU time the process used in its longest stretch (process.cpuUsage: every thread of it, GC helpers
 * included), which neighbours do not inflate. Take the smallest of a few runs of either.
 */
export async function measureLoop<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; maxBlockMs: number; maxBlockCpuMs: number; ms: number }> {
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1_000;
  };
  let last = performance.now();
  let lastCpu = cpuMs();
  const started = last;
  let max = 0;
  let maxCpu = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    const cpu = cpuMs();
    max = Math.max(max, now - last);
    maxCpu = Math.max(maxCpu, cpu - lastCpu);
    last = now;
    lastCpu = cpu;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    const value = await fn();
    const end = performance.now();
    return {
      value,
      maxBlockMs: Math.max(max, end - last),
      maxBlockCpuMs: Math.max(maxCpu, cpuMs() - lastCpu),
      ms: end - started,
    };
  } finally {
    running = false;
  }
}

export interface RollupRow {
  key: string;
  requests: number;
  amount: number;
  amounts: number;
  costMicros: number;
  costs: number;
}

const KEY = `workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state,
  approval, refused, rule_id`;
const toRollup = (r: unknown[]): RollupRow => ({
  key: r
    .slice(0, 12)
    .map((v) => String(v))
    .join(' | '),
  requests: Number(r[12]),
  amount: Number(r[13]),
  amounts: Number(r[14]),
  costMicros: Number(r[15]),
  costs: Number(r[16]),
});
const STORED = sql(
  `SELECT ${KEY}, sum(requests), sum(amount), sum(amounts), sum(cost_micros), sum(costs) FROM transaction_rollups
   WHERE workspace_id = ? GROUP BY ${KEY}
   HAVING sum(requests) <> 0 OR sum(amount) <> 0 OR sum(amounts) <> 0 OR sum(cost_micros) <> 0 OR sum(costs) <> 0`,
  toRollup,
);
const RULE = {
  sqlite: "json_extract(t.decision, '$.ruleId')",
  postgres: "CAST(t.decision AS jsonb) ->> 'ruleId'",
} as const;
const bruteForce = (rule: string) =>
  sql(
    `SELECT t.workspace_id, (t.created_at / 3600000) * 3600000, t.operation, t.agent_id,
       coalesce(t.business_id, ''), coalesce(t.business_category, ''), coalesce(t.currency, ''), t.status,
       t.spend_state, coalesce(a.status, ''),
       CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN 1 ELSE 0 END,
       CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN coalesce(${rule}, '') ELSE '' END,
       count(*), coalesce(sum(t.amount), 0), count(t.amount), coalesce(sum(t.cost_micros), 0), count(t.cost_micros)
     FROM transactions t LEFT JOIN approvals a ON a.id = t.approval_id
     WHERE t.workspace_id = ? AND t.operation IN ('execute', 'evaluate') AND t.status <> 'pending'
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12`,
    toRollup,
  );
const BRUTE = { sqlite: bruteForce(RULE.sqlite), postgres: bruteForce(RULE.postgres) };

const byKey = (rows: RollupRow[]) => [...rows].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/**
 * The workspace's rollup rows as stored (rows whose counters all went back to 0 left out) and as a
 * full scan of `transactions` computes them: equal whenever the triggers kept every change.
 */
export async function rollupsAgainstBruteForce(
  conn: Conn,
  workspaceId: string,
): Promise<{ stored: RollupRow[]; scanned: RollupRow[] }> {
  return {
    stored: byKey(await conn.all(STORED, [workspaceId])),
    scanned: byKey(await conn.all(BRUTE[conn.dialect], [workspaceId])),
  };
}
