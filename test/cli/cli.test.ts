import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  listen,
  startTestGateway,
  startUpstream,
  TEST_SECRETS_KEY,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { against, deadPort, ONE_LINE_ERROR, type Ran, spawnWarden, warden } from './support.ts';

// Issue 11 item 3: the `warden` bin, run as a process against a real gateway on port 0. Spawning
// tsx costs about a second, so independent calls run together.
describe('the warden CLI against a running gateway', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let gw: TestGateway;
  let live: { url: string; close: () => Promise<void> };
  let flaky: Upstream;
  let dir: string;
  let operator: (...args: string[]) => Promise<Ran>;
  let admin: (...args: string[]) => Promise<Ran>;
  let adminToken = '';
  let agentKey = '';

  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const ok = (ran: Ran) => {
    expect(ran.stderr, `${ran.stdout}\n${ran.stderr}`).toBe('');
    expect(ran.code).toBe(0);
    return ran;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));
    database = await freshDatabase('sqlite');
    gw = await startTestGateway({ databaseUrl: database.url, realClock: true });
    live = await listen(gw);
    // A business that takes the request and drops the connection: the outcome is unknown.
    flaky = await startUpstream((_req, res) => {
      res.socket?.destroy();
    });
    operator = against(live.url)(ADMIN_TOKEN);
  });
  afterAll(async () => {
    await live?.close();
    await gw?.dispose();
    await flaky?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help on every level with the exit codes; usage errors exit 2', async () => {
    const [root, leaf, missing, badChoice] = await Promise.all([
      warden(['--help']),
      warden(['policy', 'diff', '--help']),
      warden(['tx', 'show']),
      warden(['member', 'role', 'mem_1', 'owner', '--token', 't']),
    ]);
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/Exit codes:[\s\S]*3 {2}auth[\s\S]*4 {2}not found[\s\S]*5 {2}server/);
    for (const group of [
      'workspace',
      'business',
      'agent-key',
      'signing-key',
      'member',
      'policy',
      'approvals',
      'tx',
      'start',
      'migrate',
    ])
      expect(root.stdout).toContain(`  ${group}`);
    expect(leaf.code).toBe(0);
    expect(leaf.stdout).toMatch(/Usage: warden policy diff \[options\] <a> <b>/);
    expect(leaf.stdout).toContain('--json');
    expect(leaf.stdout).toContain('WARDEN_TOKEN');
    for (const usage of [missing, badChoice]) {
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/^warden: /);
      expect(usage.stdout).toBe('');
    }
    expect(missing.stderr).toContain("missing required argument 'id'");
    expect(badChoice.stderr).toContain('Allowed choices are admin, developer, approver');
  });

  it('workspace create, list, archive, restore, delete; business register, list, show (operator)', async () => {
    const created = ok(
      await operator('workspace', 'create', 'Acme CLI', '--admin-email', 'ops@acme.test', '--json'),
    );
    const body = created.json<{ workspace: { id: string; name: string }; adminToken: string }>();
    expect(body.workspace).toMatchObject({ id: expect.stringMatching(/^ws_/), name: 'Acme CLI' });
    adminToken = body.adminToken;
    admin = against(live.url)(adminToken);
    // One to delete, archived through the API (delete takes archived workspaces only).
    const doomed = await call(gw, 'POST', '/v1/admin/workspaces', {
      key: ADMIN_TOKEN,
      body: { name: 'Doomed', adminEmail: 'ops@doomed.test' },
    });
    const doomedId = (doomed.body.workspace as { id: string }).id;
    expect(
      (await call(gw, 'POST', `/v1/admin/workspaces/${doomedId}/archive`, { key: ADMIN_TOKEN })).status,
    ).toBe(200);

    const [echo, shop, beta, deleted] = await Promise.all([
      operator(
        'business',
        'register',
        'Echo',
        '--id',
        'echo',
        '--category',
        'demo',
        '--adapter',
        'echo',
        '--json',
      ),
      operator(
        'business',
        'register',
        'Flaky Shop',
        '--id',
        'flaky',
        '--category',
        'retail',
        '--base-url',
        flaky.url,
      ),
      operator('workspace', 'create', 'Beta', '--admin-email', 'ops@beta.test'),
      operator('workspace', 'delete', doomedId, '--confirm', 'Doomed', '--json'),
    ]);
    expect(ok(echo).json()).toMatchObject({
      business: { id: 'echo', category: 'demo' },
      signingSecret: expect.any(String),
    });
    expect(ok(shop).stdout).toMatch(
      /^business +flaky\nname +Flaky Shop\ncategory +retail\nsigning secret +\S+\n/,
    );
    expect(ok(beta).stdout).toMatch(/^workspace +ws_\w+\nname +Beta\nadmin token +\S+\n/);
    const betaId = /^workspace +(ws_\w+)/.exec(beta.stdout)?.[1] ?? '';
    expect(ok(deleted).json()).toEqual({ id: doomedId, deleted: true });

    const [list, show, archived] = await Promise.all([
      operator('business', 'list'),
      operator('business', 'show', 'echo', '--json'),
      operator('workspace', 'archive', betaId, '--json'),
    ]);
    const lines = ok(list).stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +CATEGORY +DESCRIPTION$/);
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/^echo +Echo +demo +-$/),
      expect.stringMatching(/^flaky +Flaky Shop +retail +-$/),
    ]);
    // Aligned: every row has a space just before where the header's second column starts.
    const at = (lines[0] ?? '').indexOf('NAME');
    for (const row of lines.slice(1)) expect(row.slice(at - 2, at)).toBe('  ');
    // The operator's view: lifecycle status and the circuit breaker's state too (issue 12).
    expect(ok(show).json()).toEqual({
      id: 'echo',
      name: 'Echo',
      category: 'demo',
      description: '',
      status: 'live',
      sandboxWorkspaces: [],
      breaker: { state: 'closed', failures: 0, openUntil: null },
    });
    expect(ok(archived).json()).toMatchObject({
      workspace: { id: betaId, archived: true, archivedAt: expect.any(String) },
    });

    const [listed, listedJson] = await Promise.all([
      operator('workspace', 'list'),
      operator('workspace', 'list', '--json'),
    ]);
    expect(ok(listed).stdout).toMatch(/^ID +NAME +STATUS +CREATED +ARCHIVED\n/);
    expect(listed.stdout).toMatch(new RegExp(`${betaId} +Beta +archived +\\S+ +\\S+Z\\n`));
    expect(listed.stdout).toMatch(new RegExp(`${body.workspace.id} +Acme CLI +active +\\S+ +-\\n`));
    const workspaces = ok(listedJson).json<{ workspaces: { id: string; archived: boolean }[] }>().workspaces;
    expect(workspaces.map((w) => w.id).sort()).toEqual([body.workspace.id, betaId].sort());
    expect(ok(await operator('workspace', 'restore', betaId)).stdout).toBe(
      `Workspace ${betaId} (Beta) restored.\n`,
    );
  });

  it('agent-key create, list and revoke (member token)', async () => {
    const [created, second] = await Promise.all([
      admin('agent-key', 'create', 'agent-1', '--json'),
      admin('agent-key', 'create', 'reader', '--scope', 'discover', 'query'),
    ]);
    const key = ok(created).json<{ id: string; key: string; agentId: string; scopes: string[] }>();
    expect(key).toMatchObject({ agentId: 'agent-1', scopes: ['discover', 'query', 'execute'] });
    agentKey = key.key;
    expect(ok(second).stdout).toMatch(
      /^key id +key_\S+\nagent +reader\nscopes +discover,query\npolicy +default\nkey +\S+\n/,
    );
    const readerId = /^key id +(\S+)/.exec(second.stdout)?.[1] ?? '';

    expect(ok(await admin('agent-key', 'revoke', readerId, '--json')).json()).toEqual({
      id: readerId,
      revoked: true,
    });
    const list = ok(await admin('agent-key', 'list'));
    expect(list.stdout).toMatch(/^ID +AGENT +PREFIX +SCOPES +POLICY +STATUS +CREATED\n/);
    expect(list.stdout).toMatch(new RegExp(`${readerId} +reader +\\S+ +discover,query +- +revoked `));
    expect(list.stdout).toMatch(new RegExp(`${key.id} +agent-1 +\\S+ +discover,query,execute +- +active `));

    // The old name still works, the same answer on stdout, and says once on stderr what it is now.
    const old = await admin('key', 'list');
    expect(old.code).toBe(0);
    expect(old.stdout).toBe(list.stdout);
    expect(old.stderr).toBe('warden: "key" is now "agent-key"; the old name still works for now.\n');
  });

  it('member invite, list, role and remove (admin member token)', async () => {
    const added = await call(gw, 'POST', '/v1/members', {
      key: adminToken,
      body: { email: 'dev@acme.test', role: 'developer' },
    });
    const devId = (added.body.member as { id: string }).id;
    const [invited, role] = await Promise.all([
      admin('member', 'invite', 'new@acme.test', '--role', 'approver', '--json'),
      admin('member', 'role', devId, 'approver'),
    ]);
    expect(ok(invited).json()).toMatchObject({
      invite: { email: 'new@acme.test', role: 'approver', expiresAt: expect.any(String) },
    });
    expect(ok(role).stdout).toBe('Member dev@acme.test is now approver.\n');
    const [list, listJson] = await Promise.all([admin('member', 'list'), admin('member', 'list', '--json')]);
    expect(ok(list).stdout).toMatch(/^ID +EMAIL +ROLE +CREATED\n/);
    expect(list.stdout).toMatch(new RegExp(`${devId} +dev@acme\\.test +approver +\\S+Z\\n`));
    expect(ok(listJson).json<{ members: { email: string; role: string }[] }>().members).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ email: 'ops@acme.test', role: 'admin' }),
        expect.objectContaining({ email: 'dev@acme.test', role: 'approver' }),
      ]),
    );
    expect(ok(await admin('member', 'remove', devId, '--json')).json()).toEqual({ id: devId, removed: true });
  });

  const approvalPolicy = {
    rules: [
      {
        id: 'ask-first',
        priority: 10,
        conditions: [{ field: 'sku', op: 'eq', value: 'approve-me' }],
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

  it('policy apply, get, versions, diff and simulate', async () => {
    const first = ok(
      await admin('policy', 'apply', file('v1.json', { default_action: 'auto_approve' }), '--json'),
    );
    expect(first.json()).toMatchObject({ name: 'default', version: 1, versionId: expect.any(String) });
    const second = ok(await admin('policy', 'apply', file('v2.json', approvalPolicy)));
    expect(second.stdout).toMatch(/^Policy default is at version 2 \(\S+\)\.\n$/);

    const request = file('request.json', {
      businessId: 'echo',
      request: { sku: 'approve-me', amount_cents: 900 },
    });
    const [get, versions, diff, diffJson, simulate, noVersion] = await Promise.all([
      admin('policy', 'get'),
      admin('policy', 'versions', '--name', 'default', '--json'),
      admin('policy', 'diff', '1', '2'),
      admin('policy', 'diff', 'v1', 'v2', '--json'),
      admin('policy', 'simulate', request, '--json'),
      admin('policy', 'diff', '1', '7'),
    ]);
    expect(ok(get).stdout).toMatch(/^policy +default\nversion +2\n/);
    expect(get.stdout).toContain('\n      "on_approval_timeout": "reject"\n');
    expect(
      ok(versions)
        .json<{ versions: { version: number }[] }>()
        .versions.map((v) => v.version)
        .sort(),
    ).toEqual([1, 2]);
    // A unified diff of the pretty JSON: headers, a hunk, what left and what came.
    expect(ok(diff).stdout).toMatch(/^={67}\n--- default@v1\t\S+\n\+\+\+ default@v2\t\S+\n@@ /m);
    expect(diff.stdout).toContain('\n-  "default_action": "auto_approve"\n');
    expect(diff.stdout).toContain('\n+      "id": "ask-first",\n');
    const patch = ok(diffJson).json<{
      from: { version: number };
      to: { version: number };
      identical: boolean;
      patch: string;
    }>();
    expect(patch).toMatchObject({ from: { version: 1 }, to: { version: 2 }, identical: false });
    expect(patch.patch).toContain('+  "routing_stages": [');
    expect(ok(simulate).json()).toMatchObject({
      decision: { outcome: 'approval', ruleId: 'ask-first', policy: { name: 'default', version: 2 } },
    });
    expect(noVersion.code).toBe(4);
    expect(noVersion.stderr).toBe('warden: Policy default has no version 7. (NOT_FOUND)\n');
  });

  it('approvals list, approve and reject', async () => {
    const park = async () => {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: agentKey,
        body: { businessId: 'echo', request: { sku: 'approve-me', amount_cents: 900 } },
      });
      expect(res.status).toBe(202);
      return res.body.transactionId as string;
    };
    const [first, second] = [await park(), await park()];
    const [list, listJson] = await Promise.all([
      admin('approvals', 'list'),
      admin('approvals', 'list', '--json'),
    ]);
    const approvals = ok(listJson).json<{ approvals: { id: string; transactionId: string }[] }>().approvals;
    expect(approvals.map((a) => a.transactionId).sort()).toEqual([first, second].sort());
    const byTxn = (id: string) => approvals.find((a) => a.transactionId === id)?.id ?? '';
    expect(ok(list).stdout).toMatch(/^ID +STATUS +TRANSACTION +STAGE +DEADLINE +CREATED\n/);
    expect(list.stdout).toMatch(new RegExp(`${byTxn(first)} +pending +${first} +admin +\\S+Z `));

    const [approved, rejected] = await Promise.all([
      admin('approvals', 'approve', byTxn(first), '--reason', 'fine', '--json'),
      admin('approvals', 'reject', byTxn(second), '--reason', 'not today'),
    ]);
    expect(ok(approved).json()).toMatchObject({ id: byTxn(first), status: 'approved', transactionId: first });
    expect(ok(rejected).stdout).toMatch(
      new RegExp(`^approval +${byTxn(second)}\nstatus +rejected\ntransaction +${second}\nbusiness +echo\n`),
    );
    // Deciding a decided approval is the gateway's refusal (a 4xx): exit 1 with its sentence and code.
    const twice = await admin('approvals', 'approve', byTxn(second));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^warden: [^\n]+ \([A-Z_]+\)\n$/);
  });

  it('tx list, show and resolve', async () => {
    const lost = await call(gw, 'POST', '/agp/execute', {
      key: agentKey,
      body: { businessId: 'flaky', request: { sku: 'anything', amount_cents: 1250 } },
    });
    expect(lost.body).toMatchObject({ code: 'ADAPTER_ERROR', details: { status: 'unknown' } });
    const id = (lost.body.details as { transactionId: string }).transactionId;

    const [page, filtered, show, showJson] = await Promise.all([
      admin('tx', 'list', '--limit', '1'),
      admin('tx', 'list', '--status', 'unknown', '--business', 'flaky', '--json'),
      admin('tx', 'show', id),
      admin('tx', 'show', id, '--json'),
    ]);
    expect(ok(page).stdout).toMatch(
      new RegExp(
        `^ID +STATUS +OPERATION +BUSINESS +AGENT +AMOUNT +CREATED\n${id} +unknown +execute +flaky +agent-1 +USD 12\\.50 +\\S+Z\nMore: --cursor ${id}\n$`,
      ),
    );
    expect(ok(filtered).json()).toMatchObject({ transactions: [{ transactionId: id }], nextCursor: null });
    expect(ok(show).stdout).toMatch(new RegExp(`^transaction +${id}\nstatus +unknown\noperation +execute\n`));
    expect(ok(showJson).json()).toMatchObject({
      transactionId: id,
      status: 'unknown',
      amount: 1250,
      receipt: null,
    });

    const resolved = ok(
      await admin('tx', 'resolve', id, '--status', 'failed', '--reason', 'The shop never got it.', '--json'),
    );
    expect(resolved.json()).toMatchObject({ transactionId: id, status: 'failed' });
  });

  it('errors are one line: auth 3, not found 4, refused connection 5, a refusal 1', async () => {
    const bad = file('bad-policy.json', { default_action: 'maybe' });
    const port = await deadPort();
    const [wrong, noToken, notOperator, missing, refused, invalid] = await Promise.all([
      against(live.url)('wm_wrong-token')('agent-key', 'list'),
      warden(['tx', 'list', '--url', live.url]),
      admin('business', 'list'),
      admin('tx', 'show', 'txn_01JNOTHERE', '--json'),
      warden(['tx', 'list', '--url', `http://127.0.0.1:${port}`, '--token', adminToken]),
      admin('policy', 'apply', bad),
    ]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(ONE_LINE_ERROR('UNAUTHORIZED'));
    expect(wrong.stdout).toBe('');
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toBe('warden: No token: pass --token or set WARDEN_TOKEN. (UNAUTHORIZED)\n');
    // A member token on an operator command: refused (401 or 403), the auth exit code.
    expect(notOperator.code).toBe(3);
    expect(notOperator.stderr).toMatch(/^warden: [^\n]+ \((UNAUTHORIZED|FORBIDDEN)\)\n$/);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe('warden: No transaction txn_01JNOTHERE. (TRANSACTION_NOT_FOUND)\n');
    expect(missing.stdout).toBe('');
    expect(refused.code).toBe(5);
    expect(refused.stderr).toBe(
      `warden: Cannot reach the gateway at http://127.0.0.1:${port}. (ECONNREFUSED)\n`,
    );
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(ONE_LINE_ERROR('VALIDATION_ERROR'));
  });

  it('local: migrate, and start runs a gateway until SIGTERM', async () => {
    const fresh = await freshDatabase('sqlite');
    try {
      const env = { DATABASE_URL: fresh.url, SECRETS_KEY: TEST_SECRETS_KEY };
      const migrated = await warden(['migrate'], env);
      expect(migrated.stdout).toBe('migrations applied to sqlite database\n');
      expect(migrated.code).toBe(0);
      const running = spawnWarden(['start'], {
        ...env,
        PORT: '0',
        HOST: '127.0.0.1',
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
      });
      try {
        const [, port] = await running.waitFor(/"port":(\d+)/, 20_000);
        const health = await fetch(`http://127.0.0.1:${port}/health`);
        expect(health.status).toBe(200);
        running.child.kill('SIGTERM');
        expect((await running.exited).code).toBe(0);
      } finally {
        running.kill();
      }
    } finally {
      await fresh.drop();
    }
  });
});
