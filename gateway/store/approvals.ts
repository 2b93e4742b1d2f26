import { and, asc, desc, eq, gt, inArray, isNull, lt, lte, sql } from 'drizzle-orm';
import { newId } from '../ids.ts';
import type { Conn, OnConnection, Tables } from './dialect.ts';
import type {
  Approval,
  ApprovalLink,
  ApprovalStage,
  ApprovalStatus,
  AuditEvent,
  DeadlineResult,
  DueStage,
  OtpIssue,
  OtpKey,
  OtpState,
  OutboxItem,
  Role,
  StagePlan,
  Transaction,
  VoteInput,
  VoteResult,
  Webhook,
} from './types.ts';

/** The approval steps (stage machine, notifications, links, codes), written once for every dialect. */

export type EventType = 'approval.required' | 'approval.decided' | 'transaction.completed';

export interface ApprovalDeps {
  voidSpend: (txn: Transaction) => Promise<void>;
  loadTxn: (id: string) => Promise<Transaction | undefined>;
  /** Writes an audit event in the same transaction as the change it records (DESIGN §9). */
  audit: (event: AuditEvent) => Promise<void>;
}

/** The steps over one dialect's tables. */
export function approvalSteps(t: Tables) {
  /**
   * Which webhooks a workspace has, kept for a second: every execute emits transaction.completed, and
   * most workspaces have no webhook, so the lookup is off the hot path. Creating or deleting one here
   * clears the entry at once; on another replica it takes effect within the second.
   */
  class Subscriptions {
    readonly #entries = new Map<string, { at: number; hooks: { id: string; events: string }[] }>();
    constructor(private readonly ttlMs = 1000) {}

    async get(conn: Conn, workspaceId: string) {
      const hit = this.#entries.get(workspaceId);
      const wall = Date.now();
      if (hit && wall - hit.at < this.ttlMs) return hit.hooks;
      const hooks = await conn
        .select({ id: t.webhooks.id, events: t.webhooks.events })
        .from(t.webhooks)
        .where(and(eq(t.webhooks.workspaceId, workspaceId), isNull(t.webhooks.deletedAt)));
      if (this.#entries.size > 10_000) this.#entries.clear();
      this.#entries.set(workspaceId, { at: wall, hooks });
      return hooks;
    }

    forget(workspaceId: string): void {
      this.#entries.delete(workspaceId);
    }
  }

  const subscriptions = new Subscriptions();

  /**
   * Writes an event's deliveries into the outbox in the caller's transaction: one row per webhook
   * subscribed to it and, for a stage that needs people, one email per member holding its role.
   * Nothing to deliver writes nothing.
   */
  async function emit(
    conn: Conn,
    workspaceId: string,
    type: EventType,
    data: Record<string, unknown>,
    now: number,
    emailRole?: string,
  ): Promise<void> {
    const rows: (typeof t.outbox.$inferInsert)[] = [];
    const hooks = await subscriptions.get(conn, workspaceId);
    const event = {
      id: newId('event'),
      type,
      timestamp: new Date(now).toISOString(),
      data,
    };
    for (const hook of hooks) {
      if (!hook.events.split(' ').includes(type)) continue;
      rows.push(outboxRow(workspaceId, 'webhook', hook.id, event, now));
    }
    if (emailRole) {
      const people = await conn
        .select({ id: t.members.id, email: t.members.email })
        .from(t.members)
        .where(and(eq(t.members.workspaceId, workspaceId), eq(t.members.role, emailRole as Role)));
      for (const person of people) {
        rows.push(
          outboxRow(
            workspaceId,
            'email',
            person.id,
            { template: type, memberId: person.id, email: person.email, ...data },
            now,
          ),
        );
      }
    }
    if (rows.length > 0) await conn.insert(t.outbox).values(rows);
  }

  function outboxRow(
    workspaceId: string,
    kind: 'email' | 'webhook',
    targetId: string,
    payload: Record<string, unknown>,
    now: number,
  ): typeof t.outbox.$inferInsert {
    return {
      id: newId('outbox'),
      workspaceId,
      kind,
      targetId,
      payload: JSON.stringify(payload),
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
      updatedAt: now,
    };
  }

  const stageView = (s: ApprovalStage) => ({
    position: s.position,
    index: s.index,
    role: s.role,
    tier: s.tier,
    deadlineAt: s.deadlineAt === null ? null : new Date(s.deadlineAt).toISOString(),
  });

  /** Parks a transaction for approval: the approval, its stages (the first active), the first notification. */
  async function insertApproval(
    conn: Conn,
    txn: Transaction,
    approvalId: string,
    stages: StagePlan[],
    now: number,
  ): Promise<void> {
    await conn.insert(t.approvals).values({
      id: approvalId,
      workspaceId: txn.workspaceId,
      transactionId: txn.id,
      requestHash: txn.requestHash,
      status: 'pending',
      createdAt: now,
      updatedAt: now,
    });
    await conn.insert(t.approvalStages).values(
      stages.map((stage, position) => ({
        approvalId,
        position,
        stageIndex: stage.index,
        role: stage.role,
        tier: stage.tier,
        quorum: stage.quorum,
        timeoutSeconds: stage.timeoutSeconds,
        onTimeout: stage.onTimeout,
        status: position === 0 ? 'pending' : 'waiting',
        activatedAt: position === 0 ? now : null,
        deadlineAt: position === 0 ? now + stage.timeoutSeconds * 1000 : null,
      })),
    );
    const first = await activeStage(conn, approvalId);
    if (first) await notifyStage(conn, txn.workspaceId, approvalId, txn.id, first, now);
  }

  async function notifyStage(
    conn: Conn,
    workspaceId: string,
    approvalId: string,
    transactionId: string,
    stage: ApprovalStage,
    now: number,
  ): Promise<void> {
    await emit(
      conn,
      workspaceId,
      'approval.required',
      { approvalId, transactionId, stage: stageView(stage) },
      now,
      stage.role,
    );
  }

  function toStage(row: typeof t.approvalStages.$inferSelect): ApprovalStage {
    return {
      position: row.position,
      index: row.stageIndex,
      role: row.role as Role,
      tier: row.tier as ApprovalStage['tier'],
      quorum: row.quorum,
      timeoutSeconds: row.timeoutSeconds,
      onTimeout: row.onTimeout as ApprovalStage['onTimeout'],
      status: row.status as ApprovalStage['status'],
      activatedAt: row.activatedAt,
      deadlineAt: row.deadlineAt,
      decidedAt: row.decidedAt,
    };
  }

  async function activeStage(conn: Conn, approvalId: string): Promise<ApprovalStage | undefined> {
    const [row] = await conn
      .select()
      .from(t.approvalStages)
      .where(and(eq(t.approvalStages.approvalId, approvalId), eq(t.approvalStages.status, 'pending')))
      .orderBy(asc(t.approvalStages.position))
      .limit(1);
    return row && toStage(row);
  }

  async function loadApproval(conn: Conn, workspaceId: string, id: string): Promise<Approval | undefined> {
    const [row] = await conn
      .select()
      .from(t.approvals)
      .where(and(eq(t.approvals.id, id), eq(t.approvals.workspaceId, workspaceId)))
      .limit(1);
    if (!row) return undefined;
    const stages = await conn
      .select()
      .from(t.approvalStages)
      .where(eq(t.approvalStages.approvalId, id))
      .orderBy(asc(t.approvalStages.position));
    const votes = await conn
      .select()
      .from(t.approvalVotes)
      .where(eq(t.approvalVotes.approvalId, id))
      .orderBy(asc(t.approvalVotes.createdAt));
    return {
      ...row,
      status: row.status as ApprovalStatus,
      stages: stages.map(toStage),
      votes: votes.map((v) => ({
        memberId: v.memberId,
        position: v.position,
        decision: v.decision as 'approve' | 'reject',
        reason: v.reason,
        via: v.via as 'api' | 'link',
        createdAt: v.createdAt,
      })),
    };
  }

  async function listApprovals(
    conn: Conn,
    workspaceId: string,
    filter: { status?: ApprovalStatus; role?: Role; limit: number },
  ): Promise<Approval[]> {
    const conditions = [eq(t.approvals.workspaceId, workspaceId)];
    if (filter.status) conditions.push(eq(t.approvals.status, filter.status));
    const rows = await conn
      .select({ id: t.approvals.id })
      .from(t.approvals)
      .where(and(...conditions))
      .orderBy(desc(t.approvals.id))
      .limit(filter.role ? filter.limit * 4 : filter.limit);
    const out: Approval[] = [];
    for (const { id } of rows) {
      const approval = await loadApproval(conn, workspaceId, id);
      if (!approval) continue;
      if (filter.role) {
        const active = approval.stages.find((s) => s.status === 'pending');
        if (!active || active.role !== filter.role) continue;
      }
      out.push(approval);
      if (out.length >= filter.limit) break;
    }
    return out;
  }

  /** Ends an approval and its transaction (rejected or expired), voiding the reservation. */
  async function endApproval(
    conn: Conn,
    approval: Approval,
    status: 'rejected' | 'expired',
    now: number,
    voidSpend: (txn: Transaction) => Promise<void>,
    loadTxn: (id: string) => Promise<Transaction | undefined>,
  ): Promise<void> {
    await conn.update(t.approvals).set({ status, updatedAt: now }).where(eq(t.approvals.id, approval.id));
    const [moved] = await conn
      .update(t.transactions)
      .set({ status, updatedAt: now })
      .where(
        and(eq(t.transactions.id, approval.transactionId), eq(t.transactions.status, 'pending_approval')),
      )
      .returning({ id: t.transactions.id });
    if (moved) {
      const txn = await loadTxn(moved.id);
      if (txn) await voidSpend(txn);
    }
    await emit(
      conn,
      approval.workspaceId,
      'approval.decided',
      { approvalId: approval.id, transactionId: approval.transactionId, status },
      now,
    );
    await emit(
      conn,
      approval.workspaceId,
      'transaction.completed',
      { transactionId: approval.transactionId, status },
      now,
    );
  }

  /** A vote, audited in the same transaction when it was recorded. */
  async function vote(conn: Conn, input: VoteInput, deps: ApprovalDeps): Promise<VoteResult> {
    const result = await castVote(conn, input, deps);
    if (['recorded', 'advanced', 'rejected', 'approved'].includes(result.outcome)) {
      await deps.audit({
        id: input.auditId,
        workspaceId: input.workspaceId,
        actorType: 'member',
        actorId: input.memberId,
        action: input.decision === 'approve' ? 'approval.approved' : 'approval.rejected',
        target: input.approvalId,
        data: { outcome: result.outcome, via: input.via, ...(input.reason ? { reason: input.reason } : {}) },
        createdAt: input.now,
      });
    }
    return result;
  }

  async function castVote(conn: Conn, input: VoteInput, deps: ApprovalDeps): Promise<VoteResult> {
    const approval = await loadApproval(conn, input.workspaceId, input.approvalId);
    if (!approval) return { outcome: 'not_found' };
    const stage = approval.stages.find((s) => s.status === 'pending');
    if (approval.status !== 'pending' || !stage) return { outcome: 'not_pending', approval };
    // A deadline that passed is the deadline's outcome, even if its job has not fired yet.
    if (stage.deadlineAt !== null && stage.deadlineAt <= input.now)
      return { outcome: 'not_pending', approval };
    if (input.position !== undefined && input.position !== stage.position)
      return { outcome: 'not_pending', approval };
    if (stage.role !== input.role) return { outcome: 'wrong_role', approval };
    if (input.decision === 'approve' && stage.tier === 'critical_otp' && !input.otpVerified) {
      return { outcome: 'otp_required', approval };
    }
    const inserted = await conn
      .insert(t.approvalVotes)
      .values({
        approvalId: approval.id,
        memberId: input.memberId,
        position: stage.position,
        decision: input.decision,
        reason: input.reason ?? null,
        via: input.via,
        createdAt: input.now,
      })
      .onConflictDoNothing()
      .returning({ memberId: t.approvalVotes.memberId });
    if (inserted.length === 0) return { outcome: 'already_voted', approval };

    const now = input.now;
    if (input.decision === 'reject') {
      await conn
        .update(t.approvalStages)
        .set({ status: 'rejected', decidedAt: now })
        .where(
          and(eq(t.approvalStages.approvalId, approval.id), eq(t.approvalStages.position, stage.position)),
        );
      await endApproval(conn, approval, 'rejected', now, deps.voidSpend, deps.loadTxn);
      return { outcome: 'rejected', approval: await reload(conn, approval) };
    }

    const approvals =
      approval.votes.filter((v) => v.position === stage.position && v.decision === 'approve').length + 1;
    if (approvals < stage.quorum) return { outcome: 'recorded', approval: await reload(conn, approval) };

    await conn
      .update(t.approvalStages)
      .set({ status: 'approved', decidedAt: now })
      .where(
        and(eq(t.approvalStages.approvalId, approval.id), eq(t.approvalStages.position, stage.position)),
      );
    const next = approval.stages.find((s) => s.position === stage.position + 1);
    if (next) {
      await activate(conn, approval, next, now);
      return { outcome: 'advanced', approval: await reload(conn, approval) };
    }
    await conn
      .update(t.approvals)
      .set({ status: 'approved', updatedAt: now })
      .where(eq(t.approvals.id, approval.id));
    // The one conditional change that makes an approved request execute at most once.
    const [moved] = await conn
      .update(t.transactions)
      .set({ status: 'pending', updatedAt: now })
      .where(
        and(
          eq(t.transactions.id, approval.transactionId),
          eq(t.transactions.status, 'pending_approval'),
          eq(t.transactions.requestHash, approval.requestHash),
        ),
      )
      .returning({ id: t.transactions.id });
    await emit(
      conn,
      approval.workspaceId,
      'approval.decided',
      { approvalId: approval.id, transactionId: approval.transactionId, status: 'approved' },
      now,
    );
    const transaction = moved ? await deps.loadTxn(moved.id) : undefined;
    if (!transaction) return { outcome: 'not_pending', approval: await reload(conn, approval) };
    return { outcome: 'approved', approval: await reload(conn, approval), transaction };
  }

  async function activate(conn: Conn, approval: Approval, stage: ApprovalStage, now: number): Promise<void> {
    await conn
      .update(t.approvalStages)
      .set({ status: 'pending', activatedAt: now, deadlineAt: now + stage.timeoutSeconds * 1000 })
      .where(
        and(eq(t.approvalStages.approvalId, approval.id), eq(t.approvalStages.position, stage.position)),
      );
    await notifyStage(
      conn,
      approval.workspaceId,
      approval.id,
      approval.transactionId,
      { ...stage, status: 'pending', activatedAt: now, deadlineAt: now + stage.timeoutSeconds * 1000 },
      now,
    );
  }

  async function reload(conn: Conn, approval: Approval): Promise<Approval> {
    return (await loadApproval(conn, approval.workspaceId, approval.id)) ?? approval;
  }

  async function dueStages(conn: Conn, now: number, limit: number): Promise<DueStage[]> {
    return conn
      .select({ approvalId: t.approvalStages.approvalId, position: t.approvalStages.position })
      .from(t.approvalStages)
      .where(and(eq(t.approvalStages.status, 'pending'), lte(t.approvalStages.deadlineAt, now)))
      .orderBy(asc(t.approvalStages.deadlineAt))
      .limit(limit);
  }

  /** A deadline firing, audited in the same transaction. */
  async function fireDeadline(
    conn: Conn,
    due: DueStage,
    now: number,
    auditId: string,
    deps: ApprovalDeps,
  ): Promise<DeadlineResult | undefined> {
    const result = await expireStage(conn, due, now, deps);
    if (result) {
      await deps.audit({
        id: auditId,
        workspaceId: result.approval.workspaceId,
        actorType: 'system',
        actorId: null,
        action: result.outcome === 'escalated' ? 'approval.escalated' : 'approval.expired',
        target: result.approval.id,
        data: { position: due.position },
        createdAt: now,
      });
    }
    return result;
  }

  async function expireStage(
    conn: Conn,
    due: DueStage,
    now: number,
    deps: ApprovalDeps,
  ): Promise<DeadlineResult | undefined> {
    // The claim: only a still-active, due stage moves; a racing vote or another process finds nothing.
    const [claimed] = await conn
      .update(t.approvalStages)
      .set({ decidedAt: now, status: 'expired' })
      .where(
        and(
          eq(t.approvalStages.approvalId, due.approvalId),
          eq(t.approvalStages.position, due.position),
          eq(t.approvalStages.status, 'pending'),
          lte(t.approvalStages.deadlineAt, now),
        ),
      )
      .returning();
    if (!claimed) return undefined;
    const [row] = await conn.select().from(t.approvals).where(eq(t.approvals.id, due.approvalId)).limit(1);
    if (!row) return undefined;
    const approval = await loadApproval(conn, row.workspaceId, row.id);
    if (!approval) return undefined;
    const next = approval.stages.find((s) => s.position === due.position + 1);
    if (claimed.onTimeout === 'escalate_next' && next) {
      await conn
        .update(t.approvalStages)
        .set({ status: 'escalated' })
        .where(
          and(eq(t.approvalStages.approvalId, approval.id), eq(t.approvalStages.position, due.position)),
        );
      await activate(conn, approval, next, now);
      return { outcome: 'escalated', approval: await reload(conn, approval) };
    }
    await endApproval(conn, approval, 'expired', now, deps.voidSpend, deps.loadTxn);
    return { outcome: 'expired', approval: await reload(conn, approval) };
  }

  // ── webhooks and the outbox ──────────────────────────────────────────────────

  function toWebhook(row: typeof t.webhooks.$inferSelect): Webhook {
    return { ...row, events: row.events.split(' ').filter(Boolean) };
  }

  function toOutbox(row: typeof t.outbox.$inferSelect): OutboxItem {
    return {
      ...row,
      kind: row.kind as OutboxItem['kind'],
      status: row.status as OutboxItem['status'],
      payload: JSON.parse(row.payload),
    };
  }

  async function claimOutbox(conn: Conn, now: number, limit: number, leaseMs: number): Promise<OutboxItem[]> {
    const due = await conn
      .select({ id: t.outbox.id })
      .from(t.outbox)
      .where(and(eq(t.outbox.status, 'pending'), lte(t.outbox.nextAttemptAt, now)))
      .orderBy(asc(t.outbox.nextAttemptAt))
      .limit(limit);
    if (due.length === 0) return [];
    const claimed = await conn
      .update(t.outbox)
      .set({ nextAttemptAt: now + leaseMs, updatedAt: now })
      .where(
        and(
          inArray(
            t.outbox.id,
            due.map((d) => d.id),
          ),
          eq(t.outbox.status, 'pending'),
          lte(t.outbox.nextAttemptAt, now),
        ),
      )
      .returning();
    return claimed.map(toOutbox);
  }

  // ── magic links and one-time codes ───────────────────────────────────────────

  async function findApprovalLink(conn: Conn, tokenHash: string): Promise<ApprovalLink | undefined> {
    const [row] = await conn
      .select()
      .from(t.approvalLinks)
      .where(eq(t.approvalLinks.tokenHash, tokenHash))
      .limit(1);
    return row;
  }

  const otpKey = (key: OtpKey) =>
    and(
      eq(t.approvalOtps.approvalId, key.approvalId),
      eq(t.approvalOtps.position, key.position),
      eq(t.approvalOtps.memberId, key.memberId),
    );

  async function issueOtp(conn: Conn, otp: OtpIssue, maxAttempts: number): Promise<boolean> {
    // One upsert: a fresh row, or the old one's code replaced unless its tries are used up.
    const rows = await conn
      .insert(t.approvalOtps)
      .values({ ...otp, attempts: 0, usedAt: null })
      .onConflictDoUpdate({
        target: [t.approvalOtps.approvalId, t.approvalOtps.position, t.approvalOtps.memberId],
        set: { codeHash: otp.codeHash, createdAt: otp.createdAt, expiresAt: otp.expiresAt, usedAt: null },
        setWhere: lt(t.approvalOtps.attempts, maxAttempts),
      })
      .returning({ attempts: t.approvalOtps.attempts });
    return rows.length > 0;
  }

  async function attemptOtp(
    conn: Conn,
    key: OtpKey,
    now: number,
    maxAttempts: number,
  ): Promise<{ codeHash: string } | undefined> {
    const [row] = await conn
      .update(t.approvalOtps)
      .set({ attempts: sql`${t.approvalOtps.attempts} + 1` })
      .where(
        and(
          otpKey(key),
          lt(t.approvalOtps.attempts, maxAttempts),
          isNull(t.approvalOtps.usedAt),
          gt(t.approvalOtps.expiresAt, now),
        ),
      )
      .returning({ codeHash: t.approvalOtps.codeHash });
    return row;
  }

  async function consumeOtp(conn: Conn, key: OtpKey, codeHash: string, now: number): Promise<boolean> {
    const rows = await conn
      .update(t.approvalOtps)
      .set({ usedAt: now })
      .where(and(otpKey(key), eq(t.approvalOtps.codeHash, codeHash), isNull(t.approvalOtps.usedAt)))
      .returning({ memberId: t.approvalOtps.memberId });
    return rows.length > 0;
  }

  async function getOtpState(conn: Conn, key: OtpKey): Promise<OtpState | undefined> {
    const [row] = await conn
      .select({
        attempts: t.approvalOtps.attempts,
        expiresAt: t.approvalOtps.expiresAt,
        usedAt: t.approvalOtps.usedAt,
      })
      .from(t.approvalOtps)
      .where(otpKey(key))
      .limit(1);
    return row;
  }

  return {
    subscriptions,
    emit,
    insertApproval,
    loadApproval,
    listApprovals,
    vote,
    dueStages,
    fireDeadline,
    toWebhook,
    toOutbox,
    claimOutbox,
    findApprovalLink,
    issueOtp,
    attemptOtp,
    consumeOtp,
    getOtpState,
  };
}

export type ApprovalSteps = ReturnType<typeof approvalSteps>;

/** The same steps seen with another dialect's connection type. */
export type StepsOn<C> = OnConnection<ApprovalSteps, C>;
