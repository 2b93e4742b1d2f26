import { fileURLToPath } from 'node:url';
import { and, asc, desc, eq, ilike, lt, lte, or, sql } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { approvalSteps, type StepsOn } from '../approvals.ts';
import { json, type Conn as SharedConn, type Tables } from '../dialect.ts';
import { drizzleStore, type WriteScope } from '../drizzle-store.ts';
import { type LedgerOn, ledgerSteps } from '../ledger.ts';
import { GroupCommit } from '../sqlite/group-commit.ts';
import type {
  AdmissionPlan,
  AdmissionReader,
  AgentKey,
  ApprovalLink,
  AuditEvent,
  Business,
  BusinessFilter,
  DeadlineResult,
  DueStage,
  Member,
  OtpKey,
  OtpState,
  PolicyPointer,
  Store,
  Transaction,
  VoteInput,
  VoteResult,
} from '../types.ts';
import * as t from './schema.ts';

// The shared approval steps on this store's tables and connections (see gateway/store/approvals.ts).
const sharedApprovals = approvalSteps(t as unknown as Tables);
const approvals = sharedApprovals as unknown as StepsOn<Conn>;
const sharedLedger = ledgerSteps(t as unknown as Tables);
const {
  admittedRow,
  admissionReader,
  settleSpend,
  toPointer,
  completeIdempotency,
  toAgentKey,
  toBusiness,
  toTransaction,
} = sharedLedger as unknown as LedgerOn<Conn>;

type Db = PostgresJsDatabase<typeof t>;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Reads and writes both work on the pool or inside a transaction. */
type Conn = Db | Tx;

export const POSTGRES_MIGRATIONS = fileURLToPath(new URL('../../../migrations/postgres', import.meta.url));

export interface PostgresStoreOptions {
  /** `postgres://…`; `?options=-c search_path=<schema>` (libpq style) selects a schema too. */
  url: string;
  /** Apply migrations before use (the default); `warden migrate` runs them alone. */
  migrate?: boolean;
  /** The schema to use (created if missing); tests isolate with it. Overrides a search_path in the URL. */
  schema?: string;
  /** Pool size per process (default 10, or `?max=` in the URL). */
  max?: number;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The schema a URL selects through libpq's `options=-c search_path=…` (or a bare `search_path=`). */
export function schemaFromUrl(url: string): string | undefined {
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const fromOptions = /(?:^|\s)(?:-c\s*|--)search_path=(\S+)/.exec(params.get('options') ?? '')?.[1];
  const path = fromOptions ?? params.get('search_path') ?? undefined;
  const first = path
    ?.split(',')[0]
    ?.trim()
    .replace(/^"(.*)"$/, '$1');
  return first || undefined;
}

/**
 * Opens the PostgreSQL store (DESIGN §8: many replicas, one database): a connection pool shared by
 * reads and writes; every write atomic, and admission-like steps serialised per workspace (`#write`).
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = options.schema ?? schemaFromUrl(options.url);
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`Invalid PostgreSQL schema name ${JSON.stringify(schema)}.`);
  }
  // postgres.js reads `?max=` from the URL as a string; give it the number.
  const max = options.max ?? (Number(new URL(options.url).searchParams.get('max')) || undefined);
  const clientOptions = {
    onnotice: () => {},
    ...(max ? { max } : {}),
    ...(options.schema ? { connection: { search_path: options.schema } } : {}),
  };
  if (options.migrate !== false) await migratePostgres(options.url, clientOptions, schema);
  const client = postgres(options.url, clientOptions);
  return new PostgresStore(client);
}

/**
 * Applies the migrations under a session advisory lock on one dedicated connection, so replicas
 * starting together run them one after another (the second finds nothing left to do).
 */
async function migratePostgres(
  url: string,
  clientOptions: postgres.Options<Record<string, postgres.PostgresType>>,
  schema: string | undefined,
): Promise<void> {
  const client = postgres(url, { ...clientOptions, max: 1 });
  try {
    const lockKey = `warden:migrate:${schema ?? ''}`;
    await client`select pg_advisory_lock(hashtextextended(${lockKey}, 0))`;
    try {
      if (schema) await client.unsafe(`create schema if not exists "${schema}"`);
      await migrate(drizzle(client), {
        migrationsFolder: POSTGRES_MIGRATIONS,
        // The bookkeeping table lives beside the tables it describes, so each schema migrates on its own.
        migrationsSchema: schema ?? 'drizzle',
      });
    } finally {
      await client`select pg_advisory_unlock(hashtextextended(${lockKey}, 0))`;
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Deadlock and serialization failures roll the whole transaction back; it is safe to run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const isRetryable = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
};

/**
 * Which writes share a transaction (see `#write`): those of one workspace, or those of one counter key.
 * A write without a scope runs alone.
 */

interface ScopeBatches {
  commits: GroupCommit<Tx>;
  pending: number;
}

export class PostgresStore
  extends drizzleStore(t as unknown as Tables, sharedApprovals, sharedLedger)
  implements Store
{
  readonly dialect = 'postgres' as const;
  readonly #client: postgres.Sql;
  readonly #db: Db;
  readonly #scopes = new Map<string, ScopeBatches>();
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(client: postgres.Sql) {
    super();
    this.#client = client;
    this.#db = drizzle(client, { schema: t });
    this.#hot = hotReads(this.#db);
  }

  /** The reads every request makes, built once (drizzle prepared queries skip rebuilding the SQL). */
  readonly #hot: ReturnType<typeof hotReads>;

  /**
   * Every write is atomic: its own transaction, or its own savepoint in a group-committed one.
   * A `workspaceId` scope serialises the write with every other one of that workspace across all
   * replicas: its transaction first takes the workspace's advisory lock (held to commit), and writes of
   * one workspace queued together in this process share that transaction, so the lock and the commit's
   * WAL flush are paid once per batch, not once per write (DESIGN §8 group commit). A `key` scope
   * batches writes to one row (a rate counter) the same way, without a lock. Other writes run alone:
   * each is a few conditional statements on rows no other transaction holds for long.
   */
  /** The shared methods see this store's connections through the dialect-neutral type (dialect.ts). */
  protected reader(): SharedConn {
    return this.#db as unknown as SharedConn;
  }

  protected write<T>(fn: (tx: SharedConn) => Promise<T>, scope?: WriteScope): Promise<T> {
    return this.#write(fn as unknown as (tx: Tx) => Promise<T>, scope);
  }

  async #write<T>(fn: (tx: Tx) => Promise<T>, scope?: WriteScope): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const running = scope ? this.#batched(scope, fn) : this.#db.transaction(fn);
      this.#inflight.add(running);
      try {
        return await running;
      } catch (error) {
        // A deadlock with a write outside the scopes (a sweep) rolls back only this write: run it again.
        if (attempt >= 3 || !isRetryable(error)) throw error;
      } finally {
        this.#inflight.delete(running);
      }
    }
  }

  #batched<T>(scope: WriteScope, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const id = 'workspaceId' in scope ? `ws:${scope.workspaceId}` : `key:${scope.key}`;
    let batches = this.#scopes.get(id);
    if (!batches) {
      const lock = 'workspaceId' in scope ? scope.workspaceId : undefined;
      batches = {
        pending: 0,
        commits: new GroupCommit<Tx>({
          transaction: (run) =>
            this.#db.transaction(async (tx) => {
              if (lock !== undefined) await lockWorkspace(tx, lock);
              return run(tx);
            }),
          savepoint: (tx, run) => tx.transaction(run),
        }),
      };
      this.#scopes.set(id, batches);
    }
    const entry = batches;
    entry.pending++;
    return entry.commits.run(fn).finally(() => {
      if (--entry.pending === 0 && this.#scopes.get(id) === entry) this.#scopes.delete(id);
    });
  }

  /** The workspace a row belongs to, to batch and lock a write on it by id. */
  async #workspaceOf(
    table: typeof t.transactions | typeof t.approvals,
    id: string,
  ): Promise<WriteScope | undefined> {
    const [row] = await this.#db
      .select({ workspaceId: table.workspaceId })
      .from(table)
      .where(eq(table.id, id))
      .limit(1);
    return row && { workspaceId: row.workspaceId };
  }

  async ping(): Promise<void> {
    await this.#client`select 1`;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
    await this.#client.end({ timeout: 5 });
  }

  async findMemberByTokenHash(tokenHash: string): Promise<Member | undefined> {
    const [row] = await this.#hot.memberByHash.execute({ hash: tokenHash });
    return row;
  }

  async findAgentKeyByHash(keyHash: string): Promise<AgentKey | undefined> {
    const [row] = await this.#hot.agentKeyByHash.execute({ hash: keyHash });
    return row && toAgentKey(row);
  }

  async getBusiness(id: string): Promise<Business | undefined> {
    const [row] = await this.#hot.business.execute({ id });
    return row && toBusiness(row);
  }

  async listBusinesses(filter: BusinessFilter = {}): Promise<Business[]> {
    const conditions = [];
    if (filter.category) conditions.push(eq(t.businesses.category, filter.category));
    if (filter.q) {
      // ILIKE: SQLite's LIKE ignores ASCII case; backslash is PostgreSQL's default LIKE escape.
      const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conditions.push(
        or(
          ilike(t.businesses.name, pattern),
          ilike(t.businesses.description, pattern),
          ilike(t.businesses.id, pattern),
        ),
      );
    }
    const rows = await this.#db
      .select()
      .from(t.businesses)
      .where(and(...conditions))
      .orderBy(asc(t.businesses.name), asc(t.businesses.id));
    return rows.map(toBusiness);
  }

  async releaseQueued(
    transactionId: string,
    now: number,
    decide: (reader: AdmissionReader, txn: Transaction) => Promise<AdmissionPlan>,
  ): Promise<{ transaction: Transaction; plan: AdmissionPlan } | undefined> {
    const scope = await this.#workspaceOf(t.transactions, transactionId);
    if (scope === undefined) return undefined;
    return this.#write(async (tx) => {
      // Under the workspace lock: another replica that released it first has committed by now.
      const [row] = await tx
        .select()
        .from(t.transactions)
        .where(
          and(
            eq(t.transactions.id, transactionId),
            eq(t.transactions.status, 'queued'),
            lte(t.transactions.releaseAt, now),
          ),
        )
        .limit(1);
      if (!row) return undefined;
      const txn = toTransaction(row);
      const plan = await decide(admissionReader(tx, txn, txn.id), txn);
      const next: Transaction =
        plan.outcome === 'reject'
          ? { ...txn, status: 'rejected', decision: plan.decision }
          : { ...admittedRow(txn, plan), spendState: txn.spendState };
      next.updatedAt = now;
      await tx
        .update(t.transactions)
        .set({
          status: next.status,
          decision: json(next.decision),
          releaseAt: next.releaseAt,
          approvalId: next.approvalId,
          updatedAt: now,
        })
        .where(and(eq(t.transactions.id, txn.id), eq(t.transactions.status, 'queued')));
      if (plan.outcome === 'approval')
        await approvals.insertApproval(tx, next, plan.approvalId, plan.stages, now);
      if (plan.outcome === 'reject') {
        await settleSpend(tx, txn, 'voided');
        await approvals.emit(
          tx,
          txn.workspaceId,
          'transaction.completed',
          { transactionId: txn.id, status: 'rejected' },
          now,
        );
        if (txn.idempotencyKey) {
          await completeIdempotency(tx, {
            agentKeyId: txn.agentKeyId,
            key: txn.idempotencyKey,
            response: plan.response,
          });
        }
      }
      return { transaction: next, plan };
    }, scope);
  }

  async getPolicyPointer(workspaceId: string, name: string): Promise<PolicyPointer | undefined> {
    const [row] = await this.#hot.policyPointer.execute({ workspaceId, name });
    return row && toPointer(row);
  }

  voteOnApproval(input: VoteInput): Promise<VoteResult> {
    // Decisions on a workspace's approvals run one at a time: the stage read, the vote count and
    // the advance are one step, as on the SQLite writer.
    return this.write((tx) => sharedApprovals.vote(tx, input, this.approvalDeps(tx)), {
      workspaceId: input.workspaceId,
    });
  }

  async fireDeadline(stage: DueStage, now: number, auditId: string): Promise<DeadlineResult | undefined> {
    const scope = await this.#workspaceOf(t.approvals, stage.approvalId);
    if (scope === undefined) return undefined;
    return this.write(
      (tx) => sharedApprovals.fireDeadline(tx, stage, now, auditId, this.approvalDeps(tx)),
      scope,
    );
  }

  findApprovalLink(tokenHash: string): Promise<ApprovalLink | undefined> {
    return approvals.findApprovalLink(this.#db, tokenHash);
  }

  getOtpState(key: OtpKey): Promise<OtpState | undefined> {
    // Every read sees every committed write here (no separate reader), so a try just taken shows.
    return approvals.getOtpState(this.#db, key);
  }

  // ── rate limits ────────────────────────────────────────────────────────────

  countRequest(key: string, windowStart: number): Promise<number> {
    return this.#write(
      async (tx) => {
        // One upsert: increments of a row (batched per key here) each answer their own count.
        const [row] = await tx
          .insert(t.rateCounters)
          .values({ key, windowStart, count: 1 })
          .onConflictDoUpdate({
            target: [t.rateCounters.key, t.rateCounters.windowStart],
            set: { count: sql`${t.rateCounters.count} + 1` },
          })
          .returning({ count: t.rateCounters.count });
        return row?.count ?? 1;
      },
      { key: `rate:${key}` },
    );
  }

  sweepRateCounters(before: number): Promise<number> {
    return this.#write(async (tx) => {
      const rows = await tx
        .delete(t.rateCounters)
        .where(lt(t.rateCounters.windowStart, before))
        .returning({ key: t.rateCounters.key });
      return rows.length;
    });
  }

  async listAuditEvents(
    workspaceId: string,
    options: { limit: number; before?: string },
  ): Promise<AuditEvent[]> {
    const conditions = [eq(t.auditEvents.workspaceId, workspaceId)];
    if (options.before) conditions.push(lt(t.auditEvents.id, options.before));
    const rows = await this.#db
      .select()
      .from(t.auditEvents)
      .where(and(...conditions))
      .orderBy(desc(t.auditEvents.id))
      .limit(options.limit);
    return rows.map((row) => ({
      ...row,
      actorType: row.actorType as AuditEvent['actorType'],
      data: JSON.parse(row.data),
    }));
  }
}

function hotReads(db: Db) {
  const p = sql.placeholder;
  return {
    agentKeyByHash: db
      .select()
      .from(t.agentKeys)
      .where(eq(t.agentKeys.keyHash, p('hash')))
      .limit(1)
      .prepare('warden_agent_key_by_hash'),
    memberByHash: db
      .select()
      .from(t.members)
      .where(eq(t.members.tokenHash, p('hash')))
      .limit(1)
      .prepare('warden_member_by_hash'),
    business: db
      .select()
      .from(t.businesses)
      .where(eq(t.businesses.id, p('id')))
      .limit(1)
      .prepare('warden_business'),
    policyPointer: db
      .select()
      .from(t.policies)
      .where(and(eq(t.policies.workspaceId, p('workspaceId')), eq(t.policies.name, p('name'))))
      .limit(1)
      .prepare('warden_policy_pointer'),
  };
}

/** Serialises this transaction with every other one that locks the same workspace, until commit. */
async function lockWorkspace(tx: Tx, workspaceId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${workspaceId}, 0))`);
}
