import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@libsql/client';
import { and, asc, eq, gt, isNull, like, lt, lte, or, sql } from 'drizzle-orm';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import type {
  AdmitInput,
  AdmitResult,
  AgentKey,
  AuditEvent,
  Business,
  BusinessFilter,
  ConfirmationToken,
  FinishInput,
  IdempotencyRecord,
  Member,
  Store,
  StoredResponse,
  Transaction,
  TransactionError,
  Workspace,
} from '../types.ts';
import { GroupCommit } from './group-commit.ts';
import * as t from './schema.ts';

type Db = LibSQLDatabase<typeof t>;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Reads and writes both work on the database or inside a transaction. */
type Conn = Db | Tx;

export const SQLITE_MIGRATIONS = fileURLToPath(new URL('../../../migrations/sqlite', import.meta.url));

export interface SqliteStoreOptions {
  url: string;
  /** Apply migrations before use (the default); `warden migrate` runs them alone. */
  migrate?: boolean;
}

/** Opens the libSQL store: one writer connection fed by group commit, a pool of readers (WAL). */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
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

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const parse = <T>(text: string | null): T => (text === null ? null : JSON.parse(text)) as T;

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly #writer: Client;
  readonly #reader: Client;
  readonly #w: Db;
  readonly #r: Db;
  readonly #commits: GroupCommit<Tx>;

  constructor(writer: Client, reader: Client) {
    this.#writer = writer;
    this.#reader = reader;
    this.#w = drizzle(writer, { schema: t });
    this.#r = reader === writer ? this.#w : drizzle(reader, { schema: t });
    this.#commits = new GroupCommit<Tx>({
      transaction: (fn) => this.#w.transaction(fn, { behavior: 'immediate' }),
      savepoint: (tx, fn) => tx.transaction(fn),
    });
  }

  async migrate(): Promise<void> {
    await migrate(this.#w, { migrationsFolder: SQLITE_MIGRATIONS });
  }

  /** Every write goes through group commit on the single writer connection. */
  #write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#commits.run(fn);
  }

  async ping(): Promise<void> {
    await this.#reader.execute('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#commits.drained();
    this.#reader.close();
    if (this.#reader !== this.#writer) this.#writer.close();
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
    const [row] = await this.#r.select({ n: sql<number>`count(*)` }).from(t.workspaces);
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
    const [row] = await this.#r.select().from(t.members).where(eq(t.members.tokenHash, tokenHash)).limit(1);
    return row;
  }

  createAgentKey(key: AgentKey, audit: AuditEvent): Promise<void> {
    return this.#write(async (tx) => {
      await tx.insert(t.agentKeys).values({ ...key, scopes: key.scopes.join(' ') });
      await insertAudit(tx, audit);
    });
  }

  async findAgentKeyByHash(keyHash: string): Promise<AgentKey | undefined> {
    const [row] = await this.#r.select().from(t.agentKeys).where(eq(t.agentKeys.keyHash, keyHash)).limit(1);
    return row && toAgentKey(row);
  }

  async listAgentKeys(workspaceId: string): Promise<AgentKey[]> {
    const rows = await this.#r
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
    const [row] = await this.#r.select().from(t.businesses).where(eq(t.businesses.id, id)).limit(1);
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

  // ── confirmation tokens ────────────────────────────────────────────────────

  insertConfirmationToken(token: ConfirmationToken): Promise<void> {
    return this.#write(async (tx) => {
      await tx.insert(t.confirmationTokens).values(token);
    });
  }

  async findConfirmationToken(tokenHash: string): Promise<ConfirmationToken | undefined> {
    const [row] = await this.#r
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
    return findIdempotency(this.#r, agentKeyId, key);
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
    return this.#write(async (tx) => {
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
          // An expired record (not swept yet) is taken over; a live one is a conflict.
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
      if (token) {
        // The one conditional delete that makes a token single-use (DESIGN §4).
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
          // Undo the idempotency claim made above in this same job.
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
      await tx.insert(t.transactions).values(toTransactionRow(txn));
      if (input.audit) await insertAudit(tx, input.audit);
      return { admitted: true };
    });
  }

  finishTransaction(input: FinishInput): Promise<void> {
    return this.#write(async (tx) => {
      await tx
        .update(t.transactions)
        .set({ status: input.status, data: json(input.data), error: json(input.error), updatedAt: input.at })
        .where(and(eq(t.transactions.id, input.transactionId), eq(t.transactions.status, 'pending')));
      if (input.idempotency) await completeIdempotency(tx, input.idempotency);
    });
  }

  async getTransaction(workspaceId: string, id: string): Promise<Transaction | undefined> {
    const [row] = await this.#r
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

  appendAudit(event: AuditEvent): Promise<void> {
    return this.#write((tx) => insertAudit(tx, event));
  }
}

async function insertAudit(conn: Conn, event: AuditEvent): Promise<void> {
  await conn.insert(t.auditEvents).values({ ...event, data: JSON.stringify(event.data) });
}

async function findIdempotency(
  conn: Conn,
  agentKeyId: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const [row] = await conn
    .select()
    .from(t.idempotencyKeys)
    .where(and(eq(t.idempotencyKeys.agentKeyId, agentKeyId), eq(t.idempotencyKeys.key, key)))
    .limit(1);
  if (!row) return undefined;
  return {
    agentKeyId: row.agentKeyId,
    key: row.key,
    requestHash: row.requestHash,
    transactionId: row.transactionId,
    response:
      row.responseStatus === null ? null : { status: row.responseStatus, body: parse(row.responseBody) },
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
  };
}

async function completeIdempotency(
  conn: Conn,
  input: { agentKeyId: string; key: string; response: StoredResponse },
): Promise<void> {
  await conn
    .update(t.idempotencyKeys)
    .set({ responseStatus: input.response.status, responseBody: JSON.stringify(input.response.body) })
    .where(
      and(
        eq(t.idempotencyKeys.agentKeyId, input.agentKeyId),
        eq(t.idempotencyKeys.key, input.key),
        isNull(t.idempotencyKeys.responseStatus),
      ),
    );
}

function toAgentKey(row: typeof t.agentKeys.$inferSelect): AgentKey {
  return { ...row, scopes: row.scopes.split(' ').filter(Boolean) as AgentKey['scopes'] };
}

function toBusiness(row: typeof t.businesses.$inferSelect): Business {
  return { ...row, adapter: JSON.parse(row.adapter) };
}

function toTransactionRow(txn: Transaction): typeof t.transactions.$inferInsert {
  return {
    ...txn,
    request: JSON.stringify(txn.request),
    data: json(txn.data),
    error: json(txn.error),
    decision: json(txn.decision),
  };
}

function toTransaction(row: typeof t.transactions.$inferSelect): Transaction {
  return {
    ...row,
    operation: row.operation,
    status: row.status as Transaction['status'],
    request: JSON.parse(row.request),
    data: parse(row.data),
    error: parse(row.error),
    decision: parse(row.decision),
  };
}
