import { and, eq, gte, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import type { Conn, OnConnection, Tables } from './dialect.ts';
import { json, parse } from './dialect.ts';
import type {
  AdmissionPlan,
  AdmissionReader,
  AgentKey,
  AuditEvent,
  Business,
  IdempotencyRecord,
  PolicyPointer,
  SpendQuery,
  SpendTotals,
  StoredResponse,
  Transaction,
  TransactionStatus,
} from './types.ts';

/**
 * The ledger steps every store shares: how an admitted transaction is written, how spend is summed,
 * reserved, posted and voided (DESIGN §6: a two-phase transfer), idempotency answers, row mapping.
 */
export function ledgerSteps(t: Tables) {
  const MINUTE = 60_000;
  const minuteOf = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;

  /** The transaction as admitted under `plan`, reserving its amount when it has one. */
  function admittedRow(txn: Transaction, plan: Exclude<AdmissionPlan, { outcome: 'reject' }>): Transaction {
    const status: TransactionStatus =
      plan.outcome === 'forward' ? 'pending' : plan.outcome === 'approval' ? 'pending_approval' : 'queued';
    return {
      ...txn,
      status,
      decision: plan.decision,
      releaseAt: plan.outcome === 'queue' ? plan.releaseAt : null,
      approvalId: plan.outcome === 'approval' ? plan.approvalId : null,
      // Every execute with an amount reserves it, governed by a policy or not (DESIGN §6 "What
      // counts"): a limit added at noon counts the morning's spend.
      spendState: txn.amount !== null ? 'pending' : 'none',
    };
  }

  function admissionReader(conn: Conn, txn: Transaction, excludeTransactionId?: string): AdmissionReader {
    return {
      async spend(window) {
        const query = {
          ...window,
          workspaceId: txn.workspaceId,
          excludeTransactionId,
        };
        const totals = await sumSpend(conn, query);
        return totals.pending + totals.posted;
      },
      async firstTimeBusiness() {
        const [row] = await conn
          .select({ id: t.transactions.id })
          .from(t.transactions)
          .where(
            and(
              eq(t.transactions.workspaceId, txn.workspaceId),
              eq(t.transactions.businessId, txn.businessId),
              eq(t.transactions.status, 'succeeded'),
              eq(t.transactions.operation, 'execute'),
            ),
          )
          .limit(1);
        return row === undefined;
      },
    };
  }

  async function sumSpend(conn: Conn, query: SpendQuery): Promise<SpendTotals> {
    const b = t.spendBuckets;
    const conditions: SQL[] = [
      eq(b.workspaceId, query.workspaceId),
      gte(b.minute, minuteOf(query.since)),
      eq(b.currency, query.currency),
    ];
    if (query.categories) conditions.push(inArray(b.category, [...query.categories]));
    const [own] = query.excludeTransactionId
      ? await conn
          .select()
          .from(t.transactions)
          .where(eq(t.transactions.id, query.excludeTransactionId))
          .limit(1)
      : [];
    const [row] = await conn
      .select({
        pending: sql<number>`coalesce(sum(${b.pending}), 0)`,
        posted: sql<number>`coalesce(sum(${b.posted}), 0)`,
      })
      .from(b)
      .where(and(...conditions));
    const totals = { pending: Number(row?.pending ?? 0), posted: Number(row?.posted ?? 0) };
    if (own && own.spendState === 'pending' && own.amount !== null && coveredBy(toTransaction(own), query)) {
      totals.pending -= own.amount;
    }
    return totals;
  }

  function coveredBy(txn: Transaction, query: SpendQuery): boolean {
    return (
      (txn.currency ?? '') === query.currency &&
      txn.createdAt >= minuteOf(query.since) &&
      (!query.categories || query.categories.includes(txn.businessCategory ?? ''))
    );
  }

  /** Adds to the minute bucket of a transaction's admission (negative amounts take away). */
  async function moveSpend(
    conn: Conn,
    txn: Transaction,
    delta: { pending?: number; posted?: number },
  ): Promise<void> {
    const pending = delta.pending ?? 0;
    const posted = delta.posted ?? 0;
    await conn
      .insert(t.spendBuckets)
      .values({
        workspaceId: txn.workspaceId,
        category: txn.businessCategory ?? '',
        currency: txn.currency ?? '',
        minute: minuteOf(txn.createdAt),
        pending,
        posted,
      })
      .onConflictDoUpdate({
        target: [
          t.spendBuckets.workspaceId,
          t.spendBuckets.minute,
          t.spendBuckets.category,
          t.spendBuckets.currency,
        ],
        set: {
          pending: sql`${t.spendBuckets.pending} + ${pending}`,
          posted: sql`${t.spendBuckets.posted} + ${posted}`,
        },
      });
  }

  /**
   * Posts or voids a reservation exactly once: the conditional update on spend_state is the guard,
   * so a second settle (a racing sweep, a retry) moves nothing.
   */
  async function settleSpend(conn: Conn, txn: Transaction, to: 'posted' | 'voided'): Promise<void> {
    const [moved] = await conn
      .update(t.transactions)
      .set({ spendState: to })
      .where(and(eq(t.transactions.id, txn.id), eq(t.transactions.spendState, 'pending')))
      .returning({ amount: t.transactions.amount });
    if (!moved || moved.amount === null) return;
    await moveSpend(
      conn,
      txn,
      to === 'posted' ? { pending: -moved.amount, posted: moved.amount } : { pending: -moved.amount },
    );
  }

  function toPointer(row: typeof t.policies.$inferSelect): PolicyPointer {
    return {
      workspaceId: row.workspaceId,
      name: row.name,
      versionId: row.currentVersionId,
      version: row.currentVersion,
      updatedAt: row.updatedAt,
    };
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
      spendState: row.spendState as Transaction['spendState'],
      request: JSON.parse(row.request),
      data: parse(row.data),
      error: parse(row.error),
      decision: parse(row.decision),
    };
  }

  return {
    MINUTE,
    minuteOf,
    admittedRow,
    admissionReader,
    sumSpend,
    coveredBy,
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
  };
}

export type LedgerSteps = ReturnType<typeof ledgerSteps>;
export type LedgerOn<C> = OnConnection<LedgerSteps, C>;
