import { and, asc, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { ApprovalDeps, ApprovalSteps } from './approvals.ts';
import { type Conn, json, type Tables } from './dialect.ts';
import type { LedgerSteps } from './ledger.ts';
import type {
  AdmissionPlan,
  AdmitInput,
  AdmitResult,
  AgentKey,
  Approval,
  ApprovalLink,
  ApprovalStatus,
  AuditEvent,
  Business,
  ConfirmationToken,
  DueStage,
  FinishInput,
  IdempotencyRecord,
  Member,
  OtpIssue,
  OtpKey,
  OutboxItem,
  PolicyPointer,
  PolicyVersion,
  ResolveInput,
  Role,
  SpendQuery,
  SpendTotals,
  SummaryRow,
  Transaction,
  TransactionError,
  TransactionFilter,
  Webhook,
  Workspace,
} from './types.ts';

/** Which serialisation a write needs: a workspace's admissions, or one counter key. */
export type WriteScope = { workspaceId: string } | { key: string };

/**
 * The store methods that are the same on every dialect (DESIGN §8: one contract), written once over
 * a dialect's tables and steps. A dialect's store extends the class this returns and supplies how it
 * reads, how it writes (SQLite: group commit on one writer; PostgreSQL: transactions, advisory
 * locks per scope) and the methods whose SQL really differs.
 */
export function drizzleStore(t: Tables, approvals: ApprovalSteps, ledger: LedgerSteps) {
  const {
    admissionReader,
    admittedRow,
    moveSpend,
    insertAudit,
    findIdempotency,
    completeIdempotency,
    settleSpend,
    sumSpend,
    toAgentKey,
    toPointer,
    toTransaction,
    toTransactionRow,
  } = ledger;

  abstract class DrizzleStore {
    /** The connection reads use (a pool of readers on SQLite). */
    protected abstract reader(): Conn;
    /** Runs `fn` in one atomic write, serialised with others of the same scope. */
    protected abstract write<T>(fn: (tx: Conn) => Promise<T>, scope?: WriteScope): Promise<T>;

    // ── tenancy ────────────────────────────────────────────────────────────────

    createWorkspace(workspace: Workspace, admin: Member, audit: AuditEvent): Promise<void> {
      return this.write(async (tx: Conn) => {
        await tx.insert(t.workspaces).values(workspace);
        await tx.insert(t.members).values(admin);
        await insertAudit(tx, audit);
      });
    }

    async countWorkspaces(): Promise<number> {
      const [row] = await this.reader().select({ n: sql<number>`count(*)` }).from(t.workspaces);
      return Number(row?.n ?? 0);
    }

    createMember(member: Member, audit: AuditEvent): Promise<boolean> {
      return this.write(async (tx: Conn) => {
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

    createAgentKey(key: AgentKey, audit: AuditEvent): Promise<void> {
      return this.write(async (tx: Conn) => {
        await tx.insert(t.agentKeys).values({ ...key, scopes: key.scopes.join(' ') });
        await insertAudit(tx, audit);
      });
    }

    async listAgentKeys(workspaceId: string): Promise<AgentKey[]> {
      const rows = await this.reader()
        .select()
        .from(t.agentKeys)
        .where(eq(t.agentKeys.workspaceId, workspaceId))
        .orderBy(asc(t.agentKeys.createdAt), asc(t.agentKeys.id));
      return rows.map(toAgentKey);
    }

    revokeAgentKey(workspaceId: string, id: string, at: number, audit: AuditEvent): Promise<boolean> {
      return this.write(async (tx: Conn) => {
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
      return this.write(async (tx: Conn) => {
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

    // ── confirmation tokens ────────────────────────────────────────────────────

    insertConfirmationToken(token: ConfirmationToken): Promise<void> {
      return this.write(async (tx: Conn) => {
        await tx.insert(t.confirmationTokens).values(token);
      });
    }

    async findConfirmationToken(tokenHash: string): Promise<ConfirmationToken | undefined> {
      const [row] = await this.reader()
        .select()
        .from(t.confirmationTokens)
        .where(eq(t.confirmationTokens.tokenHash, tokenHash))
        .limit(1);
      return row;
    }

    sweepConfirmationTokens(before: number): Promise<number> {
      return this.write(async (tx: Conn) => {
        const rows = await tx
          .delete(t.confirmationTokens)
          .where(lt(t.confirmationTokens.expiresAt, before))
          .returning({ h: t.confirmationTokens.tokenHash });
        return rows.length;
      });
    }

    // ── idempotency ────────────────────────────────────────────────────────────

    async findIdempotencyRecord(agentKeyId: string, key: string): Promise<IdempotencyRecord | undefined> {
      return findIdempotency(this.reader(), agentKeyId, key);
    }

    sweepIdempotencyRecords(now: number): Promise<number> {
      return this.write(async (tx: Conn) => {
        const rows = await tx
          .delete(t.idempotencyKeys)
          // A record still without an answer belongs to an execute whose outcome is unknown: kept, so
          // its key can settle it however late (DESIGN §4), and never taken over by a new request.
          .where(and(lte(t.idempotencyKeys.expiresAt, now), isNotNull(t.idempotencyKeys.responseStatus)))
          .returning({ k: t.idempotencyKeys.key });
        return rows.length;
      });
    }

    // ── transactions ───────────────────────────────────────────────────────────

    insertTransaction(transaction: Transaction): Promise<void> {
      return this.write(async (tx: Conn) => {
        await tx.insert(t.transactions).values(toTransactionRow(transaction));
      });
    }

    async dueQueuedTransactions(now: number, limit: number): Promise<Transaction[]> {
      const rows = await this.reader()
        .select()
        .from(t.transactions)
        .where(and(eq(t.transactions.status, 'queued'), lte(t.transactions.releaseAt, now)))
        .orderBy(asc(t.transactions.releaseAt))
        .limit(limit);
      return rows.map(toTransaction);
    }

    async getTransaction(workspaceId: string, id: string): Promise<Transaction | undefined> {
      const [row] = await this.reader()
        .select()
        .from(t.transactions)
        .where(and(eq(t.transactions.id, id), eq(t.transactions.workspaceId, workspaceId)))
        .limit(1);
      return row && toTransaction(row);
    }

    markOrphans(
      before: number,
      at: number,
      errors: { execute: TransactionError; read: TransactionError },
    ): Promise<{ unknown: number; failed: number }> {
      return this.write(async (tx: Conn) => {
        const stale = and(eq(t.transactions.status, 'pending'), lt(t.transactions.updatedAt, before));
        // The reservation is left as it is: the business may have executed (DESIGN §4).
        const unknown = await tx
          .update(t.transactions)
          .set({ status: 'unknown', error: JSON.stringify(errors.execute), updatedAt: at })
          .where(and(stale, eq(t.transactions.operation, 'execute')))
          .returning({ id: t.transactions.id });
        const failed = await tx
          .update(t.transactions)
          .set({ status: 'failed', error: JSON.stringify(errors.read), updatedAt: at })
          .where(and(stale, inArray(t.transactions.operation, ['discover', 'query'])))
          .returning({ id: t.transactions.id });
        return { unknown: unknown.length, failed: failed.length };
      });
    }

    claimUnknown(workspaceId: string, transactionId: string, at: number): Promise<Transaction | undefined> {
      // One conditional update: of two repeats racing to settle it, one forwards, the other waits.
      return this.write(async (tx: Conn) => {
        const [row] = await tx
          .update(t.transactions)
          .set({ status: 'pending', updatedAt: at })
          .where(
            and(
              eq(t.transactions.id, transactionId),
              eq(t.transactions.workspaceId, workspaceId),
              eq(t.transactions.status, 'unknown'),
            ),
          )
          .returning();
        return row && toTransaction(row);
      });
    }

    resolveUnknown(input: ResolveInput): Promise<boolean> {
      return this.write(
        async (tx: Conn) => {
          const [row] = await tx
            .update(t.transactions)
            .set({ status: input.status, error: json(input.error), updatedAt: input.at })
            .where(
              and(
                eq(t.transactions.id, input.transactionId),
                eq(t.transactions.workspaceId, input.workspaceId),
                eq(t.transactions.status, 'unknown'),
              ),
            )
            .returning();
          if (!row) return false;
          const txn = toTransaction(row);
          await settleSpend(tx, txn, input.status === 'succeeded' ? 'posted' : 'voided');
          if (txn.idempotencyKey) {
            await completeIdempotency(tx, {
              agentKeyId: txn.agentKeyId,
              key: txn.idempotencyKey,
              response: input.response,
            });
          }
          const data = { transactionId: txn.id, status: input.status, businessId: txn.businessId };
          await approvals.emit(tx, txn.workspaceId, 'transaction.completed', data, input.at);
          await insertAudit(tx, input.audit);
          return true;
        },
        { workspaceId: input.workspaceId },
      );
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
      const rows = await this.reader()
        .select()
        .from(t.transactions)
        .where(and(...conditions))
        .orderBy(desc(t.transactions.id))
        .limit(filter.limit);
      return rows.map(toTransaction);
    }

    async spendTotals(query: SpendQuery): Promise<SpendTotals> {
      return sumSpend(this.reader(), query);
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
      const rows = await this.reader()
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

    async getPolicyVersion(workspaceId: string, versionId: string): Promise<PolicyVersion | undefined> {
      const [row] = await this.reader()
        .select()
        .from(t.policyVersions)
        .where(and(eq(t.policyVersions.id, versionId), eq(t.policyVersions.workspaceId, workspaceId)))
        .limit(1);
      return row && { ...row, document: JSON.parse(row.document) };
    }

    async listPolicies(workspaceId: string): Promise<PolicyPointer[]> {
      const rows = await this.reader()
        .select()
        .from(t.policies)
        .where(eq(t.policies.workspaceId, workspaceId))
        .orderBy(asc(t.policies.name));
      return rows.map(toPointer);
    }

    async listPolicyVersions(workspaceId: string, name: string): Promise<PolicyVersion[]> {
      const rows = await this.reader()
        .select()
        .from(t.policyVersions)
        .where(and(eq(t.policyVersions.workspaceId, workspaceId), eq(t.policyVersions.name, name)))
        .orderBy(desc(t.policyVersions.version));
      return rows.map((row) => ({ ...row, document: JSON.parse(row.document) }));
    }

    appendAudit(event: AuditEvent): Promise<void> {
      return this.write((tx: Conn) => insertAudit(tx, event));
    }

    // ── approvals ──────────────────────────────────────────────────────────────

    protected approvalDeps(tx: Conn): ApprovalDeps {
      return {
        voidSpend: (txn) => settleSpend(tx, txn, 'voided'),
        audit: (event) => insertAudit(tx, event),
        loadTxn: async (id) => {
          const [row] = await tx.select().from(t.transactions).where(eq(t.transactions.id, id)).limit(1);
          return row && toTransaction(row);
        },
      };
    }

    getApproval(workspaceId: string, id: string): Promise<Approval | undefined> {
      return approvals.loadApproval(this.reader(), workspaceId, id);
    }

    listApprovals(
      workspaceId: string,
      filter: { status?: ApprovalStatus; role?: Role; limit: number },
    ): Promise<Approval[]> {
      return approvals.listApprovals(this.reader(), workspaceId, filter);
    }

    dueStages(now: number, limit: number): Promise<DueStage[]> {
      return approvals.dueStages(this.reader(), now, limit);
    }

    createWebhook(webhook: Webhook, audit: AuditEvent): Promise<void> {
      return this.write(async (tx: Conn) => {
        await tx.insert(t.webhooks).values({ ...webhook, events: webhook.events.join(' ') });
        await insertAudit(tx, audit);
        approvals.subscriptions.forget(webhook.workspaceId);
      });
    }

    async listWebhooks(workspaceId: string): Promise<Webhook[]> {
      const rows = await this.reader()
        .select()
        .from(t.webhooks)
        .where(and(eq(t.webhooks.workspaceId, workspaceId), isNull(t.webhooks.deletedAt)))
        .orderBy(asc(t.webhooks.id));
      return rows.map(approvals.toWebhook);
    }

    deleteWebhook(workspaceId: string, id: string, at: number, audit: AuditEvent): Promise<boolean> {
      return this.write(async (tx: Conn) => {
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

    completeOutbox(id: string, now: number): Promise<void> {
      return this.write(async (tx: Conn) => {
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
      return this.write(async (tx: Conn) => {
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

    // ── magic links and one-time codes ─────────────────────────────────────────

    async getWebhook(id: string): Promise<Webhook | undefined> {
      const [row] = await this.reader().select().from(t.webhooks).where(eq(t.webhooks.id, id)).limit(1);
      return row && approvals.toWebhook(row);
    }

    async getMember(workspaceId: string, id: string): Promise<Member | undefined> {
      const [row] = await this.reader()
        .select()
        .from(t.members)
        .where(and(eq(t.members.id, id), eq(t.members.workspaceId, workspaceId)))
        .limit(1);
      return row;
    }

    insertApprovalLink(link: ApprovalLink): Promise<void> {
      return this.write(async (tx: Conn) => {
        await tx.insert(t.approvalLinks).values(link);
      });
    }

    issueOtp(otp: OtpIssue, maxAttempts: number): Promise<boolean> {
      return this.write((tx: Conn) => approvals.issueOtp(tx, otp, maxAttempts));
    }

    attemptOtp(key: OtpKey, now: number, maxAttempts: number): Promise<{ codeHash: string } | undefined> {
      return this.write((tx: Conn) => approvals.attemptOtp(tx, key, now, maxAttempts));
    }

    consumeOtp(key: OtpKey, codeHash: string, now: number): Promise<boolean> {
      return this.write((tx: Conn) => approvals.consumeOtp(tx, key, codeHash, now));
    }

    admitExecute(input: AdmitInput): Promise<AdmitResult> {
      // A decision reads shared state (spend, history), then reserves: under the workspace lock.
      // Without one, every step is a single conditional statement, atomic on its own.
      return this.write(
        async (tx: Conn) => {
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
                setWhere: and(
                  lte(t.idempotencyKeys.expiresAt, txn.createdAt),
                  isNotNull(t.idempotencyKeys.responseStatus),
                ),
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

    finishTransaction(input: FinishInput): Promise<void> {
      // Conditional on `pending` or `unknown`: of two finishes one moves it, once; a late answer to a
      // forward the orphan job gave up on still settles it.
      return this.write(async (tx: Conn) => {
        const [row] = await tx
          .update(t.transactions)
          .set({
            status: input.status,
            data: json(input.data),
            error: json(input.error),
            updatedAt: input.at,
          })
          .where(
            and(
              eq(t.transactions.id, input.transactionId),
              inArray(t.transactions.status, ['pending', 'unknown']),
            ),
          )
          .returning();
        if (row && input.status !== 'unknown') {
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

    // ── policies ───────────────────────────────────────────────────────────────

    putPolicyVersion(
      version: Omit<PolicyVersion, 'version'>,
      audit: AuditEvent,
    ): Promise<{ versionId: string; version: number; created: boolean }> {
      // Under the workspace lock: the pointer read and the insert cannot interleave with another put.
      return this.write(
        async (tx: Conn) => {
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

    claimOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxItem[]> {
      // The claim is a conditional update: a replica racing for the same rows re-checks them after
      // the first commits and finds them leased.
      return this.write((tx: Conn) => approvals.claimOutbox(tx, now, limit, leaseMs));
    }

    async listOutbox(targetId: string, limit: number): Promise<OutboxItem[]> {
      const rows = await this.reader()
        .select()
        .from(t.outbox)
        .where(eq(t.outbox.targetId, targetId))
        .orderBy(desc(t.outbox.createdAt), desc(t.outbox.id))
        .limit(limit);
      return rows.map(approvals.toOutbox);
    }
  }
  return DrizzleStore;
}
