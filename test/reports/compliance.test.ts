import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { exportCompliance } from '../../gateway/services/compliance/index.ts';
import { expectError } from '../api/envelope.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  inWorkspace,
  listen,
  registerEcho,
  sequence,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const csv = (bytes: Uint8Array | undefined): Record<string, string>[] =>
  parse(text(bytes), { columns: true, skip_empty_lines: true });

const DAY = 86_400_000;
const FORMULA = '=HYPERLINK("http://evil.test","refused")';

interface Manifest {
  format: string;
  workspace: { id: string; name: string };
  range: { from: string; to: string };
  generatedAt: string;
  gatewayVersion: string;
  rowCap: number;
  files: { name: string; bytes: number; sha256: string; rows?: number; truncated?: boolean }[];
  figures: {
    executes: Record<string, number>;
    policyRejections: number;
    approvals: Record<string, number>;
    humanDecisions: {
      approvals: number;
      rejections: number;
      stagesDecided: number;
      medianDecisionSeconds: number | null;
    };
    policyVersions: {
      count: number;
      versions: { name: string; version: number; createdBy: string | null }[];
    };
    agentKeys: { created: number; revoked: number; active: number };
    audit: { events: number; byAction: Record<string, number> };
    verification: { valid: boolean; checked: number; firstBrokenId: string | null };
  };
}

const POLICY = {
  default_action: 'auto_approve',
  rules: [
    {
      id: 'too-big',
      priority: 1,
      conditions: [{ context: 'amount', op: 'gt', value: 10_000 }],
      action: 'reject',
      // Authored text that reaches transactions.csv: a spreadsheet must not run it.
      reason: FORMULA,
    },
    {
      id: 'needs-people',
      priority: 2,
      conditions: [{ context: 'amount', op: 'gte', value: 5_000 }],
      action: 'require_approval',
      stage_index: 0,
    },
  ],
  routing_stages: [
    {
      stage_index: 0,
      role: 'admin',
      tier: 'standard',
      quorum: 1,
      approval_timeout_seconds: 3600,
      on_approval_timeout: 'reject',
    },
  ],
};

// Issue 14 item 7: the compliance export, checked against the ledger it reports on.
describe.each(DIALECTS)('the compliance export on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let adminId = '';
  let developer = '';
  let approver = '';
  let day1 = 0;
  let day1Size = 0;
  const iso = (ms: number) => new Date(ms).toISOString();

  const execute = (amount: number) =>
    call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request: { sku: 'tea', amount_cents: amount } },
    });
  const download = (from: number, to: number, key = tenant.adminToken) =>
    gw.app.request(`/v1/reports/compliance.zip?from=${iso(from)}&to=${iso(to)}`, {
      headers: { authorization: `Bearer ${key}` },
    });
  const open = async (res: Response) => {
    expect(res.status, await res.clone().text()).toBe(200);
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const manifest = JSON.parse(text(files['manifest.json'])) as Manifest;
    return { files, manifest, readme: text(files['README.md']) };
  };

  /** Independent counts: the transactions API, the audit API, and the tables themselves. */
  async function ledger(from: number, to: number) {
    const q = `from=${iso(from)}&to=${iso(to)}&limit=200`;
    const txns = await call(gw, 'GET', `/v1/transactions?${q}`, { key: tenant.adminToken });
    const transactions = txns.body.transactions as {
      transactionId: string;
      status: string;
      operation: string;
    }[];
    const executes: Record<string, number> = {};
    for (const t of transactions.filter((t) => t.operation === 'execute')) {
      executes[t.status] = (executes[t.status] ?? 0) + 1;
    }
    const audit = await call(gw, 'GET', `/v1/audit?${q}`, { key: tenant.adminToken });
    const events = audit.body.events as { id: string; action: string }[];
    const rows = <T>(text: string) =>
      gw.db.reader.all(
        sql(text, (r) => r as T),
        [tenant.workspaceId, from, to],
      );
    const [[created] = []] = await rows<[number]>(
      'SELECT count(*) FROM agent_keys WHERE workspace_id = ? AND created_at >= ? AND created_at < ?',
    );
    const [[revoked] = []] = await rows<[number]>(
      'SELECT count(*) FROM agent_keys WHERE workspace_id = ? AND revoked_at >= ? AND revoked_at < ?',
    );
    const [[versions] = []] = await rows<[number]>(
      'SELECT count(*) FROM policy_versions WHERE workspace_id = ? AND created_at >= ? AND created_at < ?',
    );
    return {
      transactions,
      executes,
      events,
      keys: { created: Number(created), revoked: Number(revoked) },
      versions: Number(versions),
    };
  }

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    day1 = Math.floor(gw.now.value / DAY) * DAY;
    tenant = await createTenant(gw);
    await registerEcho(gw);
    const members = await call(gw, 'GET', '/v1/members', { key: tenant.adminToken });
    adminId =
      (members.body.members as { id: string; role: string }[]).find((m) => m.role === 'admin')?.id ?? '';
    for (const role of ['developer', 'approver'] as const) {
      const res = await call(gw, 'POST', '/v1/members', {
        key: tenant.adminToken,
        body: { email: `${role}@acme.test`, role },
      });
      if (role === 'developer') developer = res.body.token as string;
      else approver = res.body.token as string;
    }
    expect(
      (await call(gw, 'PUT', '/v1/policies/default', { key: tenant.adminToken, body: POLICY })).status,
    ).toBe(201);

    // Day 1: three executes go through, one is refused by the policy, two are parked for people.
    for (const amount of [100, 200, 300]) expect((await execute(amount)).status).toBe(200);
    expectError(await execute(20_000), 403, 'POLICY_REJECTED');
    const approved = await execute(6_000);
    const rejected = await execute(7_000);
    expect([approved.status, rejected.status]).toEqual([202, 202]);
    const approvalOf = (res: { body: Record<string, unknown> }) => (res.body.approval as { id: string }).id;
    gw.now.advance(30_000);
    expect(
      (
        await call(gw, 'POST', `/v1/approvals/${approvalOf(rejected)}/reject`, {
          key: tenant.adminToken,
          body: { reason: '-not this one' },
        })
      ).status,
    ).toBe(200);
    gw.now.advance(60_000);
    expect(
      (
        await call(gw, 'POST', `/v1/approvals/${approvalOf(approved)}/approve`, {
          key: tenant.adminToken,
          body: {},
        })
      ).status,
    ).toBe(200);
    // A key made and revoked.
    const key = await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId: 'temp' } });
    expect((await call(gw, 'DELETE', `/v1/keys/${key.body.id}`, { key: tenant.adminToken })).status).toBe(
      204,
    );

    // The ledger log signs day 1's entries on day 1.
    expect(await sequence(gw)).toBeGreaterThan(0);
    const head = await call(gw, 'GET', '/v1/ledger/checkpoint', { key: tenant.adminToken });
    day1Size = (head.body.payload as { size: number; root: string }).size;

    // Day 3: more traffic, outside a day-1 export.
    gw.now.advance(2 * DAY);
    expect((await execute(400)).status).toBe(200);
    const v2 = { ...POLICY, default_action: 'auto_approve', rules: POLICY.rules.slice(1) };
    expect((await call(gw, 'PUT', '/v1/policies/default', { key: tenant.adminToken, body: v2 })).status).toBe(
      201,
    );
    expect(await sequence(gw)).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('downloads over HTTP a ZIP whose README and manifest match the ledger, with hashes that hold', async () => {
    const live = await listen(gw);
    const from = day1;
    const to = day1 + DAY;
    try {
      const res = await fetch(`${live.url}/v1/reports/compliance.zip?from=${iso(from)}&to=${iso(to)}`, {
        headers: { authorization: `Bearer ${tenant.adminToken}` },
      });
      expect(res.headers.get('content-type')).toBe('application/zip');
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="warden-compliance-${tenant.workspaceId}-${iso(from).slice(0, 10).replace(/-/g, '')}T000000Z-${iso(to).slice(0, 10).replace(/-/g, '')}T000000Z.zip"`,
      );
      const { files, manifest, readme } = await open(res);
      expect(Object.keys(files).sort()).toEqual([
        'README.md',
        'approval_stages.csv',
        'audit-verification.json',
        'audit_events.csv',
        'ledger-checkpoint.json',
        'manifest.json',
        'transactions.csv',
      ]);

      // DESIGN §9: the newest checkpoint signed in the period (day 1's), not the later one.
      const sealed = JSON.parse(text(files['ledger-checkpoint.json']));
      const signedThen = await call(gw, 'GET', `/v1/ledger/checkpoint?size=${day1Size}`, {
        key: tenant.adminToken,
      });
      expect(signedThen.status).toBe(200);
      expect(sealed).toMatchObject({
        checkpoint: signedThen.body.checkpoint,
        payload: signedThen.body.payload,
      });
      const newest = await call(gw, 'GET', '/v1/ledger/checkpoint', { key: tenant.adminToken });
      expect((newest.body.payload as { size: number; root: string }).size).toBeGreaterThan(day1Size);

      // Every file but the manifest is listed with its size and SHA-256.
      expect(manifest.files.map((f) => f.name).sort()).toEqual(
        Object.keys(files)
          .filter((n) => n !== 'manifest.json')
          .sort(),
      );
      for (const f of manifest.files) {
        const bytes = files[f.name] as Uint8Array;
        expect(f.sha256, f.name).toBe(sha256(bytes));
        expect(f.bytes).toBe(bytes.length);
      }
      expect(manifest).toMatchObject({
        format: 'warden-compliance-export/1',
        workspace: { id: tenant.workspaceId, name: 'Acme' },
        range: { from: iso(from), to: iso(to) },
        rowCap: 100_000,
        gatewayVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      });

      // The figures, against counts taken independently.
      const expected = await ledger(from, to);
      const f = manifest.figures;
      expect(expected.executes).toEqual({ succeeded: 4, rejected: 2 });
      expect(f.executes).toEqual(expected.executes);
      expect(f.policyRejections).toBe(1);
      expect(f.approvals).toEqual({ approved: 1, rejected: 1 });
      expect(f.humanDecisions).toMatchObject({
        approvals: 1,
        rejections: 1,
        stagesDecided: 2,
        // 30 s to the rejection, 90 s to the approval.
        medianDecisionSeconds: 60,
      });
      expect(f.policyVersions.count).toBe(expected.versions);
      expect(f.policyVersions.versions).toEqual([
        expect.objectContaining({ name: 'default', version: 1, createdBy: adminId }),
      ]);
      expect(f.agentKeys).toMatchObject(expected.keys);
      expect(expected.keys).toEqual({ created: 2, revoked: 1 });
      expect(f.audit.events).toBe(expected.events.length);
      expect(f.audit.byAction['agent_key.revoked']).toBe(1);
      expect(f.audit.byAction['policy.changed']).toBe(1);
      expect(f.verification).toEqual({ valid: true, checked: expect.any(Number), firstBrokenId: null });

      // The narrative states the same figures.
      expect(readme).toContain(`(\`${tenant.workspaceId}\`)`);
      expect(readme).toContain(`${iso(from)} (inclusive) to ${iso(to)} (exclusive)`);
      expect(readme).toContain('| succeeded | 4 |');
      expect(readme).toContain('| rejected | 2 |');
      expect(readme).toContain(
        'Refused by the policy (rejected when admitted or released, never shown to people): **1**',
      );
      expect(readme).toContain('Human approvals (votes to approve): **1**');
      expect(readme).toContain('Human rejections (votes to reject): **1**');
      expect(readme).toContain('median decision time (a stage becoming active to its decision): **60.0 s**');
      expect(readme).toContain('Policy versions created: **1**');
      expect(readme).toContain(`\`${adminId}\``);
      expect(readme).toContain('Agent keys created: **2**; revoked: **1**');
      expect(readme).toContain(`Audit events written in the period: **${expected.events.length}**`);
      expect(readme).toContain('Chain verification: **valid**');
      for (const heading of ['CC6', 'CC7', 'CC8', 'A.5.15', 'A.8.15', 'A.8.16', 'A.8.32', 'Art. 14']) {
        expect(readme).toContain(heading);
      }
      expect(readme).toContain('Row cap per CSV | 100,000 — not reached');
      expect(readme).toContain('Spreadsheet formula injection is neutralised');

      // The chain's verdict, as GET /v1/audit/verify gives it.
      const verdict = JSON.parse(text(files['audit-verification.json']));
      const verify = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
      expect(verdict).toMatchObject({ ...verify.body, valid: true, workspaceId: tenant.workspaceId });

      // The extracts: every row of the period, no more, formulas neutralised.
      const transactions = csv(files['transactions.csv']);
      expect(transactions.map((t) => t.transaction_id).sort()).toEqual(
        expected.transactions.map((t) => t.transactionId).sort(),
      );
      const byFile = (name: string) => manifest.files.find((x) => x.name === name);
      expect(byFile('transactions.csv')).toMatchObject({ rows: transactions.length, truncated: false });
      const refused = transactions.find((t) => t.decision_rule_id === 'too-big');
      expect(refused).toMatchObject({ status: 'rejected', approval_id: '', decision_reason: `'${FORMULA}` });

      const stages = csv(files['approval_stages.csv']);
      expect(byFile('approval_stages.csv')).toMatchObject({ rows: 2, truncated: false });
      expect(stages.map((s) => [s.approval_status, s.stage_status, s.decision_seconds]).sort()).toEqual([
        ['approved', 'approved', '90'],
        ['rejected', 'rejected', '30'],
      ]);
      const rejectedStage = stages.find((s) => s.stage_status === 'rejected');
      expect(rejectedStage).toMatchObject({
        rejected_by: adminId,
        approved_by: '',
        reasons: "'-not this one",
      });

      const events = csv(files['audit_events.csv']);
      expect(events.map((e) => e.event_id).sort()).toEqual(expected.events.map((e) => e.id).sort());
      expect(byFile('audit_events.csv')).toMatchObject({ rows: events.length, truncated: false });
      // Each row's hash can be recomputed from the row (DESIGN §9), as README.md explains.
      const stored = (cell: string) => (cell === '' ? null : cell.replace(/^'(?=[=+\-@\t\r\n])/, ''));
      for (const e of events) {
        const columns = {
          id: e.event_id,
          workspace_id: tenant.workspaceId,
          actor_type: e.actor_type,
          actor_id: stored(e.actor_id as string),
          action: e.action,
          target: stored(e.target as string),
          data: e.data,
          created_at: Date.parse(e.created_at as string),
          seq: Number(e.seq),
          prev_hash: stored(e.prev_hash as string),
        };
        expect(sha256(new TextEncoder().encode(canonicalize(columns) as string)), e.action).toBe(e.hash);
      }
    } finally {
      await live.close();
    }
  });

  it('from/to filter every file: a day-3 export holds only day-3 traffic', async () => {
    const { files, manifest } = await open(await download(day1 + 2 * DAY, day1 + 3 * DAY));
    const expected = await ledger(day1 + 2 * DAY, day1 + 3 * DAY);
    expect(manifest.figures.executes).toEqual({ succeeded: 1 });
    expect(manifest.figures.executes).toEqual(expected.executes);
    expect(manifest.figures.policyRejections).toBe(0);
    expect(manifest.figures.humanDecisions).toMatchObject({
      approvals: 0,
      stagesDecided: 0,
      medianDecisionSeconds: null,
    });
    expect(manifest.figures.policyVersions.versions).toEqual([expect.objectContaining({ version: 2 })]);
    expect(csv(files['transactions.csv'])).toHaveLength(1);
    expect(csv(files['approval_stages.csv'])).toHaveLength(0);
    expect(csv(files['audit_events.csv']).map((e) => e.action)).toEqual(['policy.changed']);
    // The whole chain is verified whatever the period.
    expect(manifest.figures.verification.valid).toBe(true);
  });

  it('a lowered cap cuts the extracts and says so in README.md and manifest.json', async () => {
    const { body } = await exportCompliance({
      ctx: inWorkspace(gw, tenant.workspaceId, adminId),
      input: { from: iso(day1), to: iso(day1 + 3 * DAY) },
      limits: { maxRows: 2, pageSize: 1 },
    });
    const { files, manifest, readme } = await open(new Response(body));
    expect(manifest.rowCap).toBe(2);
    const byFile = (name: string) => manifest.files.find((x) => x.name === name);
    // Seven transactions and many audit events: cut at 2. Exactly two stages: not cut.
    expect(byFile('transactions.csv')).toMatchObject({ rows: 2, truncated: true });
    expect(byFile('audit_events.csv')).toMatchObject({ rows: 2, truncated: true });
    expect(byFile('approval_stages.csv')).toMatchObject({ rows: 2, truncated: false });
    expect(csv(files['transactions.csv'])).toHaveLength(2);
    expect(csv(files['audit_events.csv'])).toHaveLength(2);
    expect(readme).toContain('reached by `transactions.csv`, `audit_events.csv`: those files are incomplete');
    expect(readme).toMatch(/\| `transactions.csv` \| 2 \| \*\*yes\*\* \(cap 2\) \|/);
    expect(readme).toMatch(/\| `approval_stages.csv` \| 2 \| no \|/);
    // The figures still count everything.
    expect(manifest.figures.executes.succeeded).toBe(5);
  });

  it('pages of one row give the same extracts as pages of a thousand (keyset paging loses nothing)', async () => {
    const range = { from: day1, to: day1 + 3 * DAY };
    const whole = await open(await download(range.from, range.to));
    const { body } = await exportCompliance({
      ctx: inWorkspace(gw, tenant.workspaceId, adminId),
      input: { from: iso(range.from), to: iso(range.to) },
      limits: { maxRows: 100_000, pageSize: 1 },
    });
    const paged = await open(new Response(body));
    for (const name of ['transactions.csv', 'approval_stages.csv', 'audit_events.csv']) {
      expect(text(paged.files[name]), name).toBe(text(whole.files[name]));
      expect(csv(paged.files[name]).length).toBeGreaterThan(0);
    }
    expect(csv(whole.files['transactions.csv'])).toHaveLength(7);
  });

  it('refuses a bad or too long range with 400 VALIDATION_ERROR', async () => {
    const get = (query: string) =>
      call(gw, 'GET', `/v1/reports/compliance.zip${query}`, { key: tenant.adminToken });
    expectError(await get(''), 400, 'VALIDATION_ERROR');
    expectError(await get(`?from=${iso(day1)}`), 400, 'VALIDATION_ERROR');
    expectError(await get(`?from=yesterday&to=${iso(day1)}`), 400, 'VALIDATION_ERROR');
    const backwards = await get(`?from=${iso(day1 + DAY)}&to=${iso(day1)}`);
    expectError(backwards, 400, 'VALIDATION_ERROR');
    expect(backwards.body.details).toEqual([{ path: 'to', message: '`to` must be after `from`.' }]);
    const long = await get(`?from=${iso(day1 - 400 * DAY)}&to=${iso(day1)}`);
    expectError(long, 400, 'VALIDATION_ERROR');
    expect(long.body.error).toMatch(/at most 366 days/);
    // 366 days exactly is allowed.
    expect((await download(day1 - 365 * DAY, day1 + DAY)).status).toBe(200);
  });

  it('is for admins: developers and approvers get 403, no key 401', async () => {
    expectError(
      await call(gw, 'GET', `/v1/reports/compliance.zip?from=${iso(day1)}&to=${iso(day1 + DAY)}`),
      401,
      'UNAUTHORIZED',
    );
    for (const token of [developer, approver]) {
      const res = await download(day1, day1 + DAY, token);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'FORBIDDEN' });
    }
    expectError(
      await call(gw, 'GET', `/v1/reports/compliance.zip?from=${iso(day1)}&to=${iso(day1 + DAY)}`, {
        key: tenant.agentKey,
      }),
      401,
      'UNAUTHORIZED',
    );
  });
});
