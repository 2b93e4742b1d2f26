import { fileURLToPath } from 'node:url';
import { and, asc, desc, eq, gt, gte, ilike, inArray, isNull, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { type ApprovalDeps, approvalSteps, type StepsOn } from '../approvals.ts';
import { json, type Tables } from '../dialect.ts';
import { type LedgerOn, ledgerSteps } from '../ledger.ts';
import { GroupCommit } from '../sqlite/group-commit.ts';
import type {
  AdmissionPlan,
  AdmissionReader,
  AdmitInput,
  AdmitResult,
  AgentKey,
  Approval,
  ApprovalLink,
  ApprovalStatus,
  AuditEvent,
  Business,
  BusinessFilter,
  ConfirmationToken,
  DeadlineResult,
  DueStage,
  FinishInput,
  IdempotencyRecord,
  Member,
  OtpIssue,
  OtpKey,
  OtpState,
  OutboxItem,
  PolicyPointer,
  PolicyVersion,
  Role,
  SpendQuery,
  SpendTotals,
  Store,
  StoredResponse,
  SummaryRow,
  Transaction,
  TransactionError,
  TransactionFilter,
  VoteInput,
  VoteResult,
  Webhook,
  Workspace,
} from '../types.ts';
import * as t from './schema.ts';

// The shared approval steps on this store's tables and connections (see gateway/store/approvals.ts).
const approvals = approvalSteps(t as unknown as Tables) as unknown as StepsOn<Conn>;
const {
  admittedRow,
  admissionReader,
  sumSpend,
  moveSpend,
  settleSpend,
  toPointer,
  insertAudit,
  findIdempotency,
  completeIdempotency,
  toAgentKey,
  toBusiness,
  toTransactionRow,
  toTransaction,
} = ledgerSteps(t as unknown as Tables) as unknown as LedgerOn<Conn>;

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
type WriteScope = { workspaceId: string } | { key: string };

interface ScopeBatches {
  commits: GroupCommit<Tx>;
  pending: number;
}

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly #client: postgres.Sql;
  readonly #db: Db;
  readonly #scopes = new Map<string, ScopeBatches>();
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(client: postgres.Sql) {
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

  // ── tenancy ────────────────────────────────────────────────────────────────

  createWorkspace(workspace: Workspace, admin: Member, audit: AuditEvent): Promise<void> {
    return this.#write(async (tx) => {
      await tx.insert(t.workspaces).values(workspace);
      await tx.insert(t.members).values(admin);
      await insertAudit(tx, audit);
    });
  }

  async countWorkspaces(): Promise<number> {
    const [row] = await this.#db.select({ n: sql<number>`count(*)` }).from(t.workspaces);
    return Number(row?.n ?? 0);
  }

  createMember(member: Member, audit: AuditEvent): Promise<boolean> {
    return this.#write(async (tx) => {
      const rows = await tx
        .insert(t.members)
        .values(member)
        .onConflictDoNothing()
        .returning({ id: t.members.id });
      if (rows.length === 0) return false;
      await insertAudit(tx, audit);
      return true;
    });
  }

  async findMemberByTokenHash(tokenHash: string): Promise<Member | undefined> {
    const [row] = await this.#hot.memberByHash.execute({ hash: tokenHash });
    return row;
  }

  createAgentKey(key: AgentKey, audit: AuditEvent): Promise<void> {
    return this.#write(async (tx) => {
      await tx.insert(t.agentKeys).values({ ...key, scopes: key.scopes.join(' ') });
      await insertAudit(tx, audit);
    });
  }

  async findAgentKeyByHash(keyHash: string): Promise<AgentKey | undefined> {
    const [row] = await this.#hot.agentKeyByHash.execute({ hash: keyHash });
    return row && toAgentKey(row);
  }

  async listAgentKeys(workspaceId: string): Promise<AgentKey[]> {
    const rows = await this.#db
      .select()
      .from(t.agentKeys)
      .where(eq(t.agentKeys.workspaceId, workspaceId))
      .orderBy(asc(t.agentKeys.createdAt), asc(t.agentKeys.id));
    return rows.map(toAgentKey);
  }

  revokeAgentKey(workspaceId: string, id: string, at: number, audit: AuditEvent): Promise<boolean> {
    return this.#write(async (tx) => {
      const rows = await tx
        .update(t.agentKeys)
        .set({ revokedAt: at })
        .where(
          and(
            eq(t.agentKeys.id, id),
            eq(t.agentKeys.workspaceId, workspaceId),
            isNull(t.agentKeys.revokedAt),
          ),
        )
        .returning({ id: t.agentKeys.id });
      if (rows.length === 0) return false;
      await insertAudit(tx, audit);
      return true;
    });
  }

  // ── businesses ─────────────────────────────────────────────────────────────

  createBusiness(business: Business, audit: AuditEvent): Promise<boolean> {
    return this.#write(async (tx) => {
      const rows = await tx
        .insert(t.businesses)
        .values({ ...business, adapter: JSON.stringify(business.adapter) })
        .onConflictDoNothing()
        .returning({ id: t.businesses.id });
      if (rows.length === 0) return false;
      await insertAudit(tx, audit);
      return true;
    });
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

  // ── confirmation tokens ────────────────────────────────────────────────────

  insertConfirmationToken(token: ConfirmationToken): Promise<void> {
    return this.#write(async (tx) => {
      await tx.insert(t.confirmationTokens).values(token);
    });
  }

  async findConfirmationToken(tokenHash: string): Promise<ConfirmationToken | undefined> {
    const [row] = await this.#db
      .select()
      .from(t.confirmationTokens)
      .where(eq(t.confirmationTokens.tokenHash, tokenHash))
      .limit(1);
    return row;
  }

  deleteExpiredConfirmationToken(tokenHash: string, now: number): Promise<void> {
    return this.#write(async (tx) => {
      await tx
        .delete(t.confirmationTokens)
        .where(and(eq(t.confirmationTokens.tokenHash, tokenHash), lte(t.confirmationTokens.expiresAt, now)));
    });
  }

  sweepConfirmationTokens(before: number): Promise<number> {
    return this.#write(async (tx) => {
      const rows = await tx
        .delete(t.confirmationTokens)
        .where(lt(t.confirmationTokens.expiresAt, before))
        .returning({ h: t.confirmationTokens.tokenHash });
      return rows.length;
    });
  }

  // ── idempotency ────────────────────────────────────────────────────────────

  async findIdempotencyRecord(agentKeyId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return findIdempotency(this.#db, agentKeyId, key);
  }

  sweepIdempotencyRecords(now: number): Promise<number> {
    return this.#write(async (tx) => {
      const rows = await tx
        .delete(t.idempotencyKeys)
        .where(lte(t.idempotencyKeys.expiresAt, now))
        .returning({ k: t.idempotencyKeys.key });
      return rows.length;
    });
  }

  // ── transactions ───────────────────────────────────────────────────────────

  insertTransaction(transaction: Transaction): Promise<void> {
    return this.#write(async (tx) => {
      await tx.insert(t.transactions).values(toTransactionRow(transaction));
    });
  }

  admitExecute(input: AdmitInput): Promise<AdmitResult> {
    // A decision reads shared state (spend, history), then reserves: under the workspace lock.
    // Without one, every step is a single conditional statement, atomic on its own.
    return this.#write(
      async (tx) => {
        const { transaction: txn, token, idempotency } = input;
        if (idempotency) {
          const claimed = await tx
            .insert(t.idempotencyKeys)
            .values({
              agentKeyId: idempotency.agentKeyId,
              key: idempotency.key,
              requestHash: idempotency.requestHash,
              transactionId: txn.id,
              createdAt: txn.createdAt,
              expiresAt: idempotency.expiresAt,
            })
            // An expired record (not swept yet) is taken over; a live one is a conflict. A racing
            // claim of the same key waits here for the first transaction to commit or roll back.
            .onConflictDoUpdate({
              target: [t.idempotencyKeys.agentKeyId, t.idempotencyKeys.key],
              set: {
                requestHash: idempotency.requestHash,
                transactionId: txn.id,
                responseStatus: null,
                responseBody: null,
                createdAt: txn.createdAt,
                expiresAt: idempotency.expiresAt,
              },
              setWhere: lte(t.idempotencyKeys.expiresAt, txn.createdAt),
            })
            .returning({ key: t.idempotencyKeys.key });
          if (claimed.length === 0) {
            const record = await findIdempotency(tx, idempotency.agentKeyId, idempotency.key);
            if (record) return { admitted: false, reason: 'idempotency_conflict', record };
            throw new Error('Idempotency key conflicted but no record was found.');
          }
        }
        const plan: AdmissionPlan = input.decide
          ? await input.decide(admissionReader(tx, txn))
          : { outcome: 'forward', decision: txn.decision };

        if (plan.outcome === 'reject') {
          // Refused by policy: recorded, nothing reserved, the token left unconsumed.
          await tx
            .insert(t.transactions)
            .values(toTransactionRow({ ...txn, status: 'rejected', decision: plan.decision }));
          if (idempotency) await completeIdempotency(tx, { ...idempotency, response: plan.response });
          if (input.audit) await insertAudit(tx, input.audit);
          return { admitted: false, reason: 'rejected', plan };
        }

        if (token) {
          // The one conditional delete that makes a token single-use (DESIGN §4): of racing deletes
          // one gets the row, the others wait for it and find it gone.
          const consumed = await tx
            .delete(t.confirmationTokens)
            .where(
              and(
                eq(t.confirmationTokens.tokenHash, token.tokenHash),
                eq(t.confirmationTokens.agentKeyId, token.agentKeyId),
                eq(t.confirmationTokens.businessId, token.businessId),
                eq(t.confirmationTokens.requestHash, token.requestHash),
                gt(t.confirmationTokens.expiresAt, token.now),
              ),
            )
            .returning({ h: t.confirmationTokens.tokenHash });
          if (consumed.length === 0) {
            // Undo the idempotency claim made above in this same step.
            if (idempotency) {
              await tx
                .delete(t.idempotencyKeys)
                .where(
                  and(
                    eq(t.idempotencyKeys.agentKeyId, idempotency.agentKeyId),
                    eq(t.idempotencyKeys.key, idempotency.key),
                  ),
                );
            }
            return { admitted: false, reason: 'token_consumed' };
          }
        }
        const admitted = admittedRow(txn, plan);
        await tx.insert(t.transactions).values(toTransactionRow(admitted));
        if (admitted.spendState === 'pending')
          await moveSpend(tx, admitted, { pending: admitted.amount ?? 0 });
        if (plan.outcome === 'approval')
          await approvals.insertApproval(tx, admitted, plan.approvalId, plan.stages, txn.createdAt);
        // A parked request's first answer is its 202: a replay returns it.
        if (idempotency && plan.outcome !== 'forward')
          await completeIdempotency(tx, { ...idempotency, response: plan.response });
        if (input.audit) await insertAudit(tx, input.audit);
        return { admitted: true, plan };
      },
      input.decide ? { workspaceId: input.transaction.workspaceId } : undefined,
    );
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

  async dueQueuedTransactions(now: number, limit: number): Promise<Transaction[]> {
    const rows = await this.#db
      .select()
      .from(t.transactions)
      .where(and(eq(t.transactions.status, 'queued'), lte(t.transactions.releaseAt, now)))
      .orderBy(asc(t.transactions.releaseAt))
      .limit(limit);
    return rows.map(toTransaction);
  }

  finishTransaction(input: FinishInput): Promise<void> {
    // Conditional on `pending`: of two finishes (a racing stale sweep) one moves it, once.
    return this.#write(async (tx) => {
      const [row] = await tx
        .update(t.transactions)
        .set({ status: input.status, data: json(input.data), error: json(input.error), updatedAt: input.at })
        .where(and(eq(t.transactions.id, input.transactionId), eq(t.transactions.status, 'pending')))
        .returning();
      if (row) {
        const txn = toTransaction(row);
        if (txn.spendState === 'pending')
          await settleSpend(tx, txn, input.status === 'succeeded' ? 'posted' : 'voided');
        if (txn.operation === 'execute') {
          const data = { transactionId: txn.id, status: input.status, businessId: txn.businessId };
          await approvals.emit(tx, txn.workspaceId, 'transaction.completed', data, input.at);
        }
      }
      if (input.idempotency) await completeIdempotency(tx, input.idempotency);
    });
  }

  async getTransaction(workspaceId: string, id: string): Promise<Transaction | undefined> {
    const [row] = await this.#db
      .select()
      .from(t.transactions)
      .where(and(eq(t.transactions.id, id), eq(t.transactions.workspaceId, workspaceId)))
      .limit(1);
    return row && toTransaction(row);
  }

  failStaleTransactions(
    before: number,
    error: TransactionError,
    response: (id: string) => StoredResponse,
  ): Promise<number> {
    return this.#write(async (tx) => {
      const now = Date.now();
      const failed = await tx
        .update(t.transactions)
        .set({ status: 'failed', error: JSON.stringify(error), updatedAt: now })
        .where(and(eq(t.transactions.status, 'pending'), lt(t.transactions.updatedAt, before)))
        .returning({
          id: t.transactions.id,
          agentKeyId: t.transactions.agentKeyId,
          key: t.transactions.idempotencyKey,
        });
      for (const row of failed) {
        if (row.key)
          await completeIdempotency(tx, {
            agentKeyId: row.agentKeyId,
            key: row.key,
            response: response(row.id),
          });
      }
      return failed.length;
    });
  }

  async listTransactions(workspaceId: string, filter: TransactionFilter): Promise<Transaction[]> {
    const conditions: SQL[] = [eq(t.transactions.workspaceId, workspaceId)];
    if (filter.status) conditions.push(eq(t.transactions.status, filter.status));
    if (filter.operation) conditions.push(eq(t.transactions.operation, filter.operation));
    if (filter.businessId) conditions.push(eq(t.transactions.businessId, filter.businessId));
    if (filter.agentId) conditions.push(eq(t.transactions.agentId, filter.agentId));
    if (filter.from !== undefined) conditions.push(gte(t.transactions.createdAt, filter.from));
    if (filter.to !== undefined) conditions.push(lt(t.transactions.createdAt, filter.to));
    if (filter.cursor) conditions.push(lt(t.transactions.id, filter.cursor));
    const rows = await this.#db
      .select()
      .from(t.transactions)
      .where(and(...conditions))
      .orderBy(desc(t.transactions.id))
      .limit(filter.limit);
    return rows.map(toTransaction);
  }

  async spendTotals(query: SpendQuery): Promise<SpendTotals> {
    return sumSpend(this.#db, query);
  }

  async summarize(
    workspaceId: string,
    since: number,
    by: 'business_id' | 'business_category' | 'agent_id',
  ): Promise<SummaryRow[]> {
    const column = {
      business_id: t.transactions.businessId,
      business_category: t.transactions.businessCategory,
      agent_id: t.transactions.agentId,
    }[by];
    const rows = await this.#db
      .select({
        key: column,
        count: sql<number>`count(*)`,
        amount: sql<number>`coalesce(sum(${t.transactions.amount}), 0)`,
      })
      .from(t.transactions)
      .where(
        and(
          eq(t.transactions.workspaceId, workspaceId),
          eq(t.transactions.operation, 'execute'),
          gte(t.transactions.createdAt, since),
          inArray(t.transactions.spendState, ['pending', 'posted']),
        ),
      )
      .groupBy(column)
      .orderBy(column);
    return rows.map((r) => ({ key: r.key ?? '', count: Number(r.count), amount: Number(r.amount) }));
  }

  // ── policies ───────────────────────────────────────────────────────────────

  async getPolicyPointer(workspaceId: string, name: string): Promise<PolicyPointer | undefined> {
    const [row] = await this.#hot.policyPointer.execute({ workspaceId, name });
    return row && toPointer(row);
  }

  async getPolicyVersion(workspaceId: string, versionId: string): Promise<PolicyVersion | undefined> {
    const [row] = await this.#db
      .select()
      .from(t.policyVersions)
      .where(and(eq(t.policyVersions.id, versionId), eq(t.policyVersions.workspaceId, workspaceId)))
      .limit(1);
    return row && { ...row, document: JSON.parse(row.document) };
  }

  putPolicyVersion(
    version: Omit<PolicyVersion, 'version'>,
    audit: AuditEvent,
  ): Promise<{ versionId: string; version: number; created: boolean }> {
    // Under the workspace lock: the pointer read and the insert cannot interleave with another put.
    return this.#write(
      async (tx) => {
        const [current] = await tx
          .select({
            id: t.policies.currentVersionId,
            version: t.policies.currentVersion,
            hash: t.policyVersions.contentHash,
          })
          .from(t.policies)
          .innerJoin(t.policyVersions, eq(t.policyVersions.id, t.policies.currentVersionId))
          .where(and(eq(t.policies.workspaceId, version.workspaceId), eq(t.policies.name, version.name)))
          .limit(1);
        if (current && current.hash === version.contentHash) {
          return { versionId: current.id, version: current.version, created: false };
        }
        const next = (current?.version ?? 0) + 1;
        await tx
          .insert(t.policyVersions)
          .values({ ...version, version: next, document: JSON.stringify(version.document) });
        await tx
          .insert(t.policies)
          .values({
            workspaceId: version.workspaceId,
            name: version.name,
            currentVersionId: version.id,
            currentVersion: next,
            createdAt: version.createdAt,
            updatedAt: version.createdAt,
          })
          .onConflictDoUpdate({
            target: [t.policies.workspaceId, t.policies.name],
            set: { currentVersionId: version.id, currentVersion: next, updatedAt: version.createdAt },
          });
        await insertAudit(tx, { ...audit, data: { ...audit.data, version: next, versionId: version.id } });
        return { versionId: version.id, version: next, created: true };
      },
      { workspaceId: version.workspaceId },
    );
  }

  async listPolicies(workspaceId: string): Promise<PolicyPointer[]> {
    const rows = await this.#db
      .select()
      .from(t.policies)
      .where(eq(t.policies.workspaceId, workspaceId))
      .orderBy(asc(t.policies.name));
    return rows.map(toPointer);
  }

  async listPolicyVersions(workspaceId: string, name: string): Promise<PolicyVersion[]> {
    const rows = await this.#db
      .select()
      .from(t.policyVersions)
      .where(and(eq(t.policyVersions.workspaceId, workspaceId), eq(t.policyVersions.name, name)))
      .orderBy(desc(t.policyVersions.version));
    return rows.map((row) => ({ ...row, document: JSON.parse(row.document) }));
  }

  appendAudit(event: AuditEvent): Promise<void> {
    return this.#write((tx) => insertAudit(tx, event));
  }

  // ── approvals ──────────────────────────────────────────────────────────────

  #approvalDeps(tx: Tx): ApprovalDeps {
    return {
      voidSpend: (txn) => settleSpend(tx, txn, 'voided'),
      loadTxn: async (id) => {
        const [row] = await tx.select().from(t.transactions).where(eq(t.transactions.id, id)).limit(1);
        return row && toTransaction(row);
      },
    };
  }

  getApproval(workspaceId: string, id: string): Promise<Approval | undefined> {
    return approvals.loadApproval(this.#db, workspaceId, id);
  }

  listApprovals(
    workspaceId: string,
    filter: { status?: ApprovalStatus; role?: Role; limit: number },
  ): Promise<Approval[]> {
    return approvals.listApprovals(this.#db, workspaceId, filter);
  }

  voteOnApproval(input: VoteInput): Promise<VoteResult> {
    // Decisions on a workspace's approvals run one at a time: the stage read, the vote count and
    // the advance are one step, as on the SQLite writer.
    return this.#write((tx) => approvals.vote(tx, input, this.#approvalDeps(tx)), {
      workspaceId: input.workspaceId,
    });
  }

  dueStages(now: number, limit: number): Promise<DueStage[]> {
    return approvals.dueStages(this.#db, now, limit);
  }

  async fireDeadline(stage: DueStage, now: number): Promise<DeadlineResult | undefined> {
    const scope = await this.#workspaceOf(t.approvals, stage.approvalId);
    if (scope === undefined) return undefined;
    return this.#write((tx) => approvals.fireDeadline(tx, stage, now, this.#approvalDeps(tx)), scope);
  }

  createWebhook(webhook: Webhook, audit: AuditEvent): Promise<void> {
    return this.#write(async (tx) => {
      await tx.insert(t.webhooks).values({ ...webhook, events: webhook.events.join(' ') });
      await insertAudit(tx, audit);
      approvals.subscriptions.forget(webhook.workspaceId);
    });
  }

  async listWebhooks(workspaceId: string): Promise<Webhook[]> {
    const rows = await this.#db
      .select()
      .from(t.webhooks)
      .where(and(eq(t.webhooks.workspaceId, workspaceId), isNull(t.webhooks.deletedAt)))
      .orderBy(asc(t.webhooks.id));
    return rows.map(approvals.toWebhook);
  }

  deleteWebhook(workspaceId: string, id: string, at: number, audit: AuditEvent): Promise<boolean> {
    return this.#write(async (tx) => {
      const rows = await tx
        .update(t.webhooks)
        .set({ deletedAt: at })
        .where(
          and(eq(t.webhooks.id, id), eq(t.webhooks.workspaceId, workspaceId), isNull(t.webhooks.deletedAt)),
        )
        .returning({ id: t.webhooks.id });
      if (rows.length === 0) return false;
      await insertAudit(tx, audit);
      approvals.subscriptions.forget(workspaceId);
      return true;
    });
  }

  claimOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxItem[]> {
    // The claim is a conditional update: a replica racing for the same rows re-checks them after
    // the first commits and finds them leased.
    return this.#write((tx) => approvals.claimOutbox(tx, now, limit, leaseMs));
  }

  completeOutbox(id: string, now: number): Promise<void> {
    return this.#write(async (tx) => {
      await tx
        .update(t.outbox)
        .set({
          status: 'delivered',
          attempts: sql`${t.outbox.attempts} + 1`,
          lastError: null,
          updatedAt: now,
        })
        .where(and(eq(t.outbox.id, id), eq(t.outbox.status, 'pending')));
    });
  }

  failOutbox(id: string, error: string, now: number, retryAt: number | null): Promise<void> {
    return this.#write(async (tx) => {
      await tx
        .update(t.outbox)
        .set({
          status: retryAt === null ? 'failed' : 'pending',
          attempts: sql`${t.outbox.attempts} + 1`,
          nextAttemptAt: retryAt ?? now,
          lastError: error.slice(0, 1000),
          updatedAt: now,
        })
        .where(and(eq(t.outbox.id, id), eq(t.outbox.status, 'pending')));
    });
  }

  async listOutbox(targetId: string, limit: number): Promise<OutboxItem[]> {
    const rows = await this.#db
      .select()
      .from(t.outbox)
      .where(eq(t.outbox.targetId, targetId))
      .orderBy(desc(t.outbox.createdAt), desc(t.outbox.id))
      .limit(limit);
    return rows.map(approvals.toOutbox);
  }

  // ── magic links and one-time codes ─────────────────────────────────────────

  async getWebhook(id: string): Promise<Webhook | undefined> {
    const [row] = await this.#db.select().from(t.webhooks).where(eq(t.webhooks.id, id)).limit(1);
    return row && approvals.toWebhook(row);
  }

  async getMember(workspaceId: string, id: string): Promise<Member | undefined> {
    const [row] = await this.#db
      .select()
      .from(t.members)
      .where(and(eq(t.members.id, id), eq(t.members.workspaceId, workspaceId)))
      .limit(1);
    return row;
  }

  insertApprovalLink(link: ApprovalLink): Promise<void> {
    return this.#write(async (tx) => {
      await tx.insert(t.approvalLinks).values(link);
    });
  }

  findApprovalLink(tokenHash: string): Promise<ApprovalLink | undefined> {
    return approvals.findApprovalLink(this.#db, tokenHash);
  }

  // Each is one conditional statement (upsert or update … returning): atomic across replicas as is.
  issueOtp(otp: OtpIssue, maxAttempts: number): Promise<boolean> {
    return this.#write((tx) => approvals.issueOtp(tx, otp, maxAttempts));
  }

  attemptOtp(key: OtpKey, now: number, maxAttempts: number): Promise<{ codeHash: string } | undefined> {
    return this.#write((tx) => approvals.attemptOtp(tx, key, now, maxAttempts));
  }

  consumeOtp(key: OtpKey, codeHash: string, now: number): Promise<boolean> {
    return this.#write((tx) => approvals.consumeOtp(tx, key, codeHash, now));
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
