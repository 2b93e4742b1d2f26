import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/dialects.ts';
import {
  call,
  createTenant,
  listen,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { against, ONE_LINE_ERROR } from './support.ts';

// Issue 14 item 7: `warden export compliance`, run as a process against a gateway on port 0.
describe('warden export compliance', { timeout: 60_000 }, () => {
  let database: TestDatabase;
  let gw: TestGateway;
  let live: { url: string; close: () => Promise<void> };
  let tenant: Tenant;
  let developer = '';
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-export-'));
    database = await freshDatabase('sqlite');
    gw = await startTestGateway({ databaseUrl: database.url, realClock: true });
    live = await listen(gw);
    tenant = await createTenant(gw);
    await registerEcho(gw);
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request: { sku: 'tea', amount_cents: 100 } },
    });
    expect(res.status).toBe(200);
    const member = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'dev@acme.test', role: 'developer' },
    });
    developer = member.body.token as string;
  });
  afterAll(async () => {
    await live?.close();
    await gw?.dispose();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the ZIP to --out; a wrong role exits 3, a bad range 1, a missing option 2', async () => {
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 86_400_000).toISOString();
    const out = join(dir, 'report.zip');
    const admin = against(live.url)(tenant.adminToken);
    const [ok, forbidden, backwards, missing] = await Promise.all([
      admin('export', 'compliance', '--from', from, '--to', to, '--out', out, '--json'),
      against(live.url)(developer)(
        'export',
        'compliance',
        '--from',
        from,
        '--to',
        to,
        '--out',
        join(dir, 'no.zip'),
      ),
      admin('export', 'compliance', '--from', to, '--to', from, '--out', join(dir, 'no.zip')),
      admin('export', 'compliance', '--from', from),
    ]);

    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.json()).toMatchObject({ file: out, bytes: expect.any(Number) });
    const files = unzipSync(new Uint8Array(readFileSync(out)));
    expect(Object.keys(files).sort()).toEqual([
      'README.md',
      'approval_stages.csv',
      'audit-verification.json',
      'audit_events.csv',
      'ledger-checkpoint.json',
      'manifest.json',
      'transactions.csv',
    ]);
    const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json']));
    expect(manifest.workspace.id).toBe(tenant.workspaceId);
    expect(manifest.figures.executes).toEqual({ succeeded: 1 });
    expect(ok.json<{ bytes: number }>().bytes).toBe(readFileSync(out).length);

    expect(forbidden.code).toBe(3);
    expect(forbidden.stderr).toMatch(ONE_LINE_ERROR('FORBIDDEN'));
    expect(backwards.code).toBe(1);
    expect(backwards.stderr).toMatch(ONE_LINE_ERROR('VALIDATION_ERROR'));
    expect(backwards.stderr).toContain('`to` must be after `from`');
    expect(existsSync(join(dir, 'no.zip'))).toBe(false);
    expect(existsSync(join(dir, 'no.zip.partial'))).toBe(false);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--to <time>' not specified");
  });
});
