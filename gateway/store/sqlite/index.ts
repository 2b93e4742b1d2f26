import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@libsql/client';
import { and, asc, desc, eq, like, lt, lte, or, sql } from 'drizzle-orm';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { approvalSteps } from '../approvals.ts';
import { type Conn, json } from '../dialect.ts';
import { drizzleStore } from '../drizzle-store.ts';
import { ledgerSteps } from '../ledger.ts';
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
import { GroupCommit } from './group-commit.ts';
import * as t from './schema.ts';
import { installStatementCache } from './statement-cache.ts';

const approvals = approvalSteps(t);
const ledger = ledgerSteps(t);
const {
  admittedRow,
  admissionReader,
  settleSpend,
  toPointer,
  completeIdempotency,
  toAgentKey,
  toBusiness,
  toTransaction,
} = ledger;

type Db = LibSQLDatabase<typeof t>;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export const SQLITE_MIGRATIONS = fileURLToPath(new URL('../../../migrations/sqlite', import.meta.url));

export interface SqliteStoreOptions {
  url: string;
  /** Apply migrations before use (the default); `warden migrate` runs them alone. */
  migrate?: boolean;
}

/** Opens the libSQL store: one writer connection fed by group commit, a pool of readers (WAL). */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  installStatementCache();
  const isFile = options.url.startsWith('file:');
  if (isFile) {
    const path = options.url.slice('file:'.length).split('?')[0] ?? '';
    if (path && path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  }
  // busy timeout: a second process (warden migrate, another replica on a libSQL server) waits, not fails.
  const writer = createClient({ url: options.url, concurrency: 1, timeout: 5000 });
  if (isFile) {
    await writer.execute('PRAGMA journal_mode = WAL');
    // DESIGN §8: WAL + synchronous=NORMAL: a commit survives a process crash without an fsync per commit.
    await writer.execute('PRAGMA synchronous = NORMAL');
    await writer.execute('PRAGMA foreign_keys = ON');
  }
  const reader = isFile ? createClient({ url: options.url, concurrency: 8, timeout: 5000 }) : writer;
  const store = new SqliteStore(writer, reader);
  if (options.migrate !== false) await store.migrate();
  return store;
}

export class SqliteStore extends drizzleStore(t, approvals, ledger) implements Store {
  readonly dialect = 'sqlite' as const;
  readonly #writer: Client;
  readonly #reader: Client;
  readonly #w: Db;
  readonly #r: Db;
  readonly #commits: GroupCommit<Tx>;

  constructor(writer: Client, reader: Client) {
    super();
    this.#writer = writer;
    this.#reader = reader;
    this.#w = drizzle(writer, { schema: t });
    this.#r = reader === writer ? this.#w : drizzle(reader, { schema: t });
    this.#commits = new GroupCommit<Tx>({
      transaction: (fn) => this.#w.transaction(fn, { behavior: 'immediate' }),
      savepoint: (tx, fn) => tx.transaction(fn),
    });
    this.#hot = hotReads(this.#r);
  }

  /** The reads every request makes, built once (drizzle prepared queries skip rebuilding the SQL). */
  readonly #hot: ReturnType<typeof hotReads>;

  async migrate(): Promise<void> {
    await migrate(this.#w, { migrationsFolder: SQLITE_MIGRATIONS });
  }

  /** Every write goes through group commit on the single writer connection. */
  #write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#commits.run(fn);
  }

  protected reader(): Conn {
    return this.#r;
  }

  /** One writer serialises everything on SQLite, so a scope needs nothing more. */
  protected write<T>(fn: (tx: Conn) => Promise<T>): Promise<T> {
    return this.#write(fn);
  }

  async ping(): Promise<void> {
    await this.#reader.execute('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#commits.drained();
    this.#reader.close();
    if (this.#reader !== this.#writer) this.#writer.close();
  }

  async findMemberByTokenHash(tokenHash: string): Promise<Member | undefined> {
    const [row] = await this.#hot.memberByHash.all({ hash: tokenHash });
    return row && { ...row, role: row.role };
  }

  async findAgentKeyByHash(keyHash: string): Promise<AgentKey | undefined> {
    const [row] = await this.#hot.agentKeyByHash.all({ hash: keyHash });
    return row && toAgentKey(row);
  }

  async getBusiness(id: string): Promise<Business | undefined> {
    const [row] = await this.#hot.business.all({ id });
    return row && toBusiness(row);
  }

  async listBusinesses(filter: BusinessFilter = {}): Promise<Business[]> {
    const conditions = [];
    if (filter.category) conditions.push(eq(t.businesses.category, filter.category));
    if (filter.q) {
      const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conditions.push(
        or(
          sql`${t.businesses.name} LIKE ${pattern} ESCAPE '\\'`,
          sql`${t.businesses.description} LIKE ${pattern} ESCAPE '\\'`,
          like(t.businesses.id, pattern),
        ),
      );
    }
    const rows = await this.#r
      .select()
      .from(t.businesses)
      .where(and(...conditions))
      .orderBy(asc(t.businesses.name), asc(t.businesses.id));
    return rows.map(toBusiness);
  }

  releaseQueued(
    transactionId: string,
    now: number,
    decide: (reader: AdmissionReader, txn: Transaction) => Promise<AdmissionPlan>,
  ): Promise<{ transaction: Transaction; plan: AdmissionPlan } | undefined> {
    return this.#write(async (tx) => {
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
    });
  }

  async getPolicyPointer(workspaceId: string, name: string): Promise<PolicyPointer | undefined> {
    const [row] = await this.#hot.policyPointer.all({ workspaceId, name });
    return row && toPointer(row);
  }

  voteOnApproval(input: VoteInput): Promise<VoteResult> {
    return this.#write((tx) => approvals.vote(tx, input, this.approvalDeps(tx)));
  }

  fireDeadline(stage: DueStage, now: number, auditId: string): Promise<DeadlineResult | undefined> {
    return this.#write((tx) => approvals.fireDeadline(tx, stage, now, auditId, this.approvalDeps(tx)));
  }

  countRequest(key: string, windowStart: number): Promise<number> {
    return this.#write(async (tx) => {
      const [row] = await tx
        .insert(t.rateCounters)
        .values({ key, windowStart, count: 1 })
        .onConflictDoUpdate({
          target: [t.rateCounters.key, t.rateCounters.windowStart],
          set: { count: sql`${t.rateCounters.count} + 1` },
        })
        .returning({ count: t.rateCounters.count });
      return row?.count ?? 1;
    });
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

  findApprovalLink(tokenHash: string): Promise<ApprovalLink | undefined> {
    return approvals.findApprovalLink(this.#r, tokenHash);
  }

  getOtpState(key: OtpKey): Promise<OtpState | undefined> {
    // From the writer: a state read right after a try must see it.
    return approvals.getOtpState(this.#w, key);
  }

  async listAuditEvents(
    workspaceId: string,
    options: { limit: number; before?: string },
  ): Promise<AuditEvent[]> {
    const conditions = [eq(t.auditEvents.workspaceId, workspaceId)];
    if (options.before) conditions.push(lt(t.auditEvents.id, options.before));
    const rows = await this.#r
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
      .prepare(),
    memberByHash: db
      .select()
      .from(t.members)
      .where(eq(t.members.tokenHash, p('hash')))
      .limit(1)
      .prepare(),
    business: db
      .select()
      .from(t.businesses)
      .where(eq(t.businesses.id, p('id')))
      .limit(1)
      .prepare(),
    policyPointer: db
      .select()
      .from(t.policies)
      .where(and(eq(t.policies.workspaceId, p('workspaceId')), eq(t.policies.name, p('name'))))
      .limit(1)
      .prepare(),
  };
}
