import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import type { TransactionFilter } from '../../gateway/domain/index.ts';
import { newId } from '../../gateway/ids.ts';
import { appendAudit } from '../../gateway/repositories/audit.ts';
import { listAuditEvents } from '../../gateway/services/ledger/audit.ts';
import { LIST_SCAN, listTransactions } from '../../gateway/services/reporting/transactions.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  inWorkspace,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { seedLedger } from '../support/ledger-seed.ts';

/**
 * Issue 18: the lists a member can page through (transactions, audit events, approvals) answer the
 * same rows, in the same order and pages, as one statement over the whole workspace did, now that
 * a filter is read a bounded number of index entries at a time.
 */

const DAY = 86_400_000;

describe.each(DIALECTS)('lists read in bounded steps (issue 18) on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let approver: string;
  const COUNT = 3 * LIST_SCAN + 417;

  /** Every page of a list, following nextCursor; the ids in order. */
  async function walk(
    path: string,
    items: 'transactions' | 'events' | 'approvals',
    token = tenant.adminToken,
  ) {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 500; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await call(gw, 'GET', cursor ? `${path}${sep}cursor=${cursor}` : path, { key: token });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const page = res.body[items] as { transactionId?: string; id?: string }[];
      ids.push(...page.map((x) => (x.transactionId ?? x.id) as string));
      cursor = res.body.nextCursor as string | null;
      if (!cursor) return ids;
    }
    throw new Error('too many pages');
  }

  const member = () => inWorkspace(gw, tenant.workspaceId);
  const idsWhere = (table: string, where: string, params: unknown[]) =>
    gw.db.reader.all(
      sql(
        `SELECT id FROM ${table} WHERE workspace_id = ? AND ${where} ORDER BY id DESC`,
        (r) => r[0] as string,
      ),
      [tenant.workspaceId, ...params],
    );

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw, { agentId: 'buyer' });
    await seedLedger(gw.db, {
      workspaceId: tenant.workspaceId,
      agentKeyId: tenant.agentKeyId,
      count: COUNT,
      now: gw.now.value,
      spanMs: 20 * DAY,
      inFlightMs: 20 * DAY,
    });
    // Some pending approvals wait for approvers rather than admins.
    await gw.db.transaction({}, (tx) =>
      tx.run(
        sql(`UPDATE approval_stages SET role = 'approver' WHERE status = 'pending' AND approval_id IN
          (SELECT id FROM approvals WHERE workspace_id = ? AND status = 'pending' ORDER BY request_hash LIMIT 20)`),
        [tenant.workspaceId],
      ),
    );
    const member = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'approver@acme.test', role: 'approver' },
    });
    approver = member.body.token as string;
    // An audit log long enough to need several steps per filtered page.
    const actions = ['key.created', 'approval.decided', 'approval.voted', 'policy.updated', 'member.added'];
    await gw.db.transaction({ workspaceId: tenant.workspaceId }, async (tx) => {
      for (let i = 0; i < 2 * LIST_SCAN + 300; i++) {
        await appendAudit(tx, {
          id: newId('audit'),
          workspaceId: tenant.workspaceId,
          actorType: 'member',
          actorId: `mem_${i % 7}`,
          action: actions[i % actions.length] as string,
          target: `target-${i % 13}`,
          data: { i },
          createdAt: gw.now.value - (3_000 - i) * 60_000,
        });
      }
    });
  });
  afterAll(() => gw.dispose());

  it('GET /v1/transactions: every filter, every page, as one scan lists them', {
    timeout: 120_000,
  }, async () => {
    const now = gw.now.value;
    const iso = (ms: number) => new Date(ms).toISOString();
    const STEPPED = new Set([
      'from=1970-01-01T00:00:00Z&limit=200',
      'status=unknown',
      'agentId=scout&limit=200',
      'operation=evaluate&limit=33',
      `from=${iso(now - 9 * DAY)}&to=${iso(now - 8 * DAY)}`,
    ]);
    const cases: [string, string, unknown[]][] = [
      ['', 'true', []],
      // Filters every row passes, read in steps all the same: a step's edges drop or repeat nothing.
      ['from=1970-01-01T00:00:00Z&limit=200', 'true', []],
      ['operation=execute&limit=150', "operation = 'execute'", []],
      ['status=unknown', "status = 'unknown'", []],
      ['status=pending_approval&limit=7', "status = 'pending_approval'", []],
      ['agentId=scout&limit=200', "agent_id = 'scout'", []],
      ['agentId=nobody', "agent_id = 'nobody'", []],
      ['businessId=air&status=failed', "business_id = 'air' AND status = 'failed'", []],
      ['operation=evaluate&limit=33', "operation = 'evaluate'", []],
      ['operation=query&status=succeeded', "operation = 'query' AND status = 'succeeded'", []],
      ['amountMin=5000', 'amount >= 5000', []],
      ['amountMin=100&amountMax=140&limit=3', 'amount >= 100 AND amount <= 140', []],
      [
        `from=${iso(now - 9 * DAY)}&to=${iso(now - 8 * DAY)}`,
        'created_at >= ? AND created_at < ?',
        [now - 9 * DAY, now - 8 * DAY],
      ],
      [
        `from=${iso(now - 3 * DAY)}&operation=evaluate&status=approved`,
        "created_at >= ? AND operation = 'evaluate' AND status = 'approved'",
        [now - 3 * DAY],
      ],
      [`to=${iso(now - 19 * DAY)}&agentId=buyer`, "created_at < ? AND agent_id = 'buyer'", [now - 19 * DAY]],
    ];
    for (const [query, where, params] of cases) {
      const expected = await idsWhere('transactions', where, params);
      const listed = await walk(`/v1/transactions${query ? `?${query}` : ''}`, 'transactions');
      expect({ query, listed }).toEqual({ query, listed: expected });
      // And in steps of a few entries, so that pages cross many of their edges.
      if (!STEPPED.has(query)) continue;
      for (const scan of [13, 97]) {
        const q = Object.fromEntries(new URLSearchParams(query));
        const filter = {
          ...q,
          limit: Number(q.limit ?? 50),
          from: q.from ? Date.parse(q.from) : undefined,
          to: q.to ? Date.parse(q.to) : undefined,
          amountMin: q.amountMin ? Number(q.amountMin) : undefined,
          amountMax: q.amountMax ? Number(q.amountMax) : undefined,
        } as TransactionFilter;
        const ids: string[] = [];
        for (let cursor: string | undefined, n = 0; n < 500; n++) {
          const page = await listTransactions({
            ctx: member(),
            input: { filter: { ...filter, cursor }, scan },
          });
          ids.push(...page.transactions.map((t) => t.transactionId));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        expect({ query, scan, ids }).toEqual({ query, scan, ids: expected });
      }
    }
    // The spans tested above cross several steps of LIST_SCAN entries.
    expect((await idsWhere('transactions', 'true', [])).length).toBe(COUNT);
  });

  it('GET /v1/audit: every filter, every page, as one scan lists them', { timeout: 120_000 }, async () => {
    const now = gw.now.value;
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases: [string, string, unknown[]][] = [
      ['limit=200', 'true', []],
      ['from=1970-01-01T00:00:00Z&limit=200', 'true', []],
      ['action=policy.updated&limit=37', "action = 'policy.updated'", []],
      ['action=approval.*', "action IN ('approval.decided', 'approval.voted')", []],
      ['action=nothing.here', "action = 'nothing.here'", []],
      ['actor=mem_3&target=target-5', "actor_id = 'mem_3' AND target = 'target-5'", []],
      [
        `from=${iso(now - 2_000 * 60_000)}&to=${iso(now - 1_500 * 60_000)}&limit=100`,
        'created_at >= ? AND created_at < ?',
        [now - 2_000 * 60_000, now - 1_500 * 60_000],
      ],
    ];
    for (const [query, where, params] of cases) {
      const expected = await idsWhere('audit_events', where, params);
      const listed = await walk(`/v1/audit?${query}`, 'events');
      // A page that ends exactly at the last event names a cursor to an empty page: same ids.
      expect({ query, listed }).toEqual({ query, listed: expected });
      for (const scan of [9, 100]) {
        const q = Object.fromEntries(new URLSearchParams(query));
        const ids: string[] = [];
        for (let cursor: string | undefined, n = 0; n < 3_000; n++) {
          const page = await listAuditEvents({
            ctx: member(),
            input: { query: { ...q, limit: Number(q.limit ?? 50), cursor }, scan },
          });
          ids.push(...page.events.map((e) => e.id));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        expect({ query, scan, ids }).toEqual({ query, scan, ids: expected });
      }
    }
  });

  it('GET /v1/approvals: by status, all statuses, and what a role can act on', async () => {
    for (const [status, limit] of [
      ['pending', 200],
      ['approved', 20],
      ['rejected', 5],
      ['expired', 200],
    ] as const) {
      const res = await call(gw, 'GET', `/v1/approvals?status=${status}&limit=${limit}`, {
        key: tenant.adminToken,
      });
      const expected =
        status === 'pending'
          ? await gw.db.reader.all(
              sql(
                `SELECT a.id FROM approvals a JOIN approval_stages s ON s.approval_id = a.id AND s.status = 'pending'
                 WHERE a.workspace_id = ? AND a.status = 'pending' AND s.role = 'admin' ORDER BY a.id DESC LIMIT ?`,
                (r) => r[0] as string,
              ),
              [tenant.workspaceId, limit],
            )
          : (await idsWhere('approvals', 'status = ?', [status])).slice(0, limit);
      expect({ status, found: expected.length > 0 }).toEqual({ status, found: true });
      expect((res.body.approvals as { id: string }[]).map((a) => a.id)).toEqual(expected);
    }
    const all = await call(gw, 'GET', '/v1/approvals?limit=150', { key: tenant.adminToken });
    expect((all.body.approvals as { id: string }[]).map((a) => a.id)).toEqual(
      (await idsWhere('approvals', 'true', [])).slice(0, 150),
    );
    const mine = await call(gw, 'GET', '/v1/approvals?status=pending&limit=200', { key: approver });
    const forApprovers = (
      mine.body.approvals as { id: string; stages: { status: string; role: string }[] }[]
    ).map((a) => {
      expect(a.stages.find((s) => s.status === 'pending')?.role).toBe('approver');
      return a.id;
    });
    expect(forApprovers.length).toBeGreaterThan(0);
    const pendingTotal = (await idsWhere('approvals', "status = 'pending'", [])).length;
    expect(forApprovers.length).toBeLessThan(pendingTotal);
  });
});
