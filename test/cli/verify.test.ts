import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { freshDatabase, type TestDatabase } from '../support/dialects.ts';
import {
  call,
  createTenant,
  listen,
  registerEcho,
  sequence,
  startTestGateway,
  TEST_SECRETS_KEY,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { type Ran, warden } from './support.ts';

/**
 * Issue 21 item 6: `warden audit verify` and `warden receipt verify` say their verdict in words
 * (`--json` for scripts), on this host's database or, with `--url` and a member token, against a
 * gateway from anywhere; `keys` is `signing-key` now, the old name an alias with a notice.
 */
describe('the verify commands, readable, local and remote', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let gw: TestGateway;
  let live: { url: string; close: () => Promise<void> };
  let tenant: Tenant;
  let transactionId = '';
  let dir: string;
  const local = (...args: string[]): Promise<Ran> =>
    warden(args, { DATABASE_URL: database.url, SECRETS_KEY: TEST_SECRETS_KEY });
  const remote = (...args: string[]): Promise<Ran> =>
    warden([...args, '--url', live.url], { WARDEN_TOKEN: tenant.adminToken });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-verify-'));
    database = await freshDatabase('sqlite');
    gw = await startTestGateway({ databaseUrl: database.url, realClock: true });
    live = await listen(gw);
    tenant = await createTenant(gw);
    await registerEcho(gw, 'echo');
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request: { action: 'order', sku: 'tea', quantity: 1 } },
    });
    expect(res.status).toBe(200);
    transactionId = res.body.transactionId as string;
    await sequence(gw);
  }, 60_000);
  afterAll(async () => {
    await live?.close();
    await gw?.dispose();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('receipt verify: a verdict in words here and from afar, the same verdict as JSON', async () => {
    const [here, there, thereJson] = await Promise.all([
      local('receipt', 'verify', transactionId),
      remote('receipt', 'verify', transactionId),
      remote('receipt', 'verify', transactionId, '--json'),
    ]);
    for (const [ran, where] of [
      [here, 'this database'],
      [there, live.url],
    ] as const) {
      expect(ran.code, ran.stderr).toBe(0);
      const lines = ran.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(
        `VALID  the receipt of ${transactionId} is signed, names its transaction, and is in the ledger log (${where}).`,
      );
      expect(lines[1]).toMatch(/^ {2}ok {3}signature {3}key sig_\S+$/);
      expect(lines[2]).toBe(`  ok   names       ${transactionId} in ${tenant.workspaceId}`);
      expect(lines[3]).toMatch(
        /^ {2}ok {3}ledger log {2}leaf \d+ of \d+, under a checkpoint signed by key \S+$/,
      );
    }
    expect(thereJson.code).toBe(0);
    expect(thereJson.json()).toMatchObject({
      valid: true,
      signature: { valid: true },
      names: { valid: true, transactionId, workspaceId: tenant.workspaceId },
      log: { included: true, appended: true, checkpoint: { valid: true } },
    });
  });

  it('receipt verify --url: keys kept elsewhere that did not sign it fail it; a local-only option is a usage error', async () => {
    const { publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const jwks = join(dir, 'other-keys.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'other' }] }));
    const [forged, checkpoint, noToken] = await Promise.all([
      remote('receipt', 'verify', transactionId, '--jwks', jwks),
      remote('receipt', 'verify', transactionId, '--checkpoint', jwks),
      warden(['receipt', 'verify', transactionId, '--url', live.url]),
    ]);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(
      new RegExp(`^INVALID {2}the receipt does not verify \\(${live.url}\\)\\.\\n {2}FAIL signature {3}\\S`),
    );
    expect(checkpoint.code).toBe(2);
    expect(checkpoint.stderr).toBe(
      'warden: --checkpoint works on the gateway host only; with --url the newest checkpoint is checked. (USAGE)\n',
    );
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toBe('warden: No token: pass --token or set WARDEN_TOKEN. (UNAUTHORIZED)\n');
  });

  it('audit verify: the chain holds, here and at the gateway; a changed row is named by both', async () => {
    const [here, there, thereJson] = await Promise.all([
      local('audit', 'verify', '--workspace', tenant.workspaceId),
      remote('audit', 'verify'),
      remote('audit', 'verify', '--json'),
    ]);
    const api = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
    const checked = api.body.checked as number;
    expect(here.code).toBe(0);
    expect(here.stdout).toBe(
      `VALID  the audit chain holds (${checked} events checked, this database).\n  ${tenant.workspaceId}: valid (${checked} checked)\n`,
    );
    expect(there.code).toBe(0);
    expect(there.stdout).toBe(`VALID  the audit chain holds (${checked} events checked, ${live.url}).\n`);
    expect(thereJson.json()).toEqual(api.body);

    const rows = await gw.db.reader.all(
      sql('SELECT id, data FROM audit_events WHERE workspace_id = ? ORDER BY seq'),
      [tenant.workspaceId],
    );
    const [victimId, original] = rows[1] as [string, string];
    const tamper = (data: string) =>
      gw.db.transaction({}, (tx) =>
        tx.run(sql('UPDATE audit_events SET data = ? WHERE id = ?'), [data, victimId]),
      );
    await tamper('{"agentId":"someone-else"}');
    try {
      const verdict = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
      expect(verdict.body).toMatchObject({ valid: false, firstBrokenId: victimId });
      const [brokenHere, brokenThere] = await Promise.all([
        local('audit', 'verify', '--workspace', tenant.workspaceId),
        remote('audit', 'verify'),
      ]);
      for (const [ran, where] of [
        [brokenHere, 'this database'],
        [brokenThere, live.url],
      ] as const) {
        expect(ran.code).toBe(1);
        expect(ran.stdout.split('\n')[0]).toBe(
          `BROKEN  the audit chain does not hold (${verdict.body.checked} events checked, ${where}): the first event missing or changed is ${victimId}.`,
        );
      }
    } finally {
      await tamper(original);
    }
  });

  it('`keys rotate` still works as `signing-key rotate`, with one line on stderr', async () => {
    const old = await local('keys', 'rotate');
    expect(old.code).toBe(0);
    expect(old.json()).toMatchObject({ rotated: true, kid: expect.any(String) });
    expect(old.stderr).toBe('warden: "keys" is now "signing-key"; the old name still works for now.\n');
    const help = await warden(['--help']);
    expect(help.stdout).toMatch(/ {2}agent-key\|key +create, list and revoke agent keys/);
    expect(help.stdout).toMatch(/ {2}signing-key\|keys +the keys that sign receipts/);
  });
});
