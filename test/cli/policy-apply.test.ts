import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitStandIn, startGitHub } from '../channels/git-stand-ins.ts';
import {
  call,
  createTenant,
  listen,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { against, type Ran } from './support.ts';

// Issue 23, item 3: `warden policy apply <dir> [--dry-run]` for CI pipelines without webhooks, and
// `warden policy sync`, run as processes against a gateway on port 0.
describe('warden policy apply <dir> and policy sync', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  let live: { url: string; close: () => Promise<void> };
  let github: GitStandIn;
  let tenant: Tenant;
  let dir: string;
  let admin: (...args: string[]) => Promise<Ran>;

  const bigOrders = {
    default_action: 'auto_approve',
    rules: [
      {
        id: 'big-orders',
        priority: 1,
        conditions: [{ context: 'amount', op: 'gte', value: 20_000 }],
        action: 'reject',
        reason: 'Too big for an agent',
      },
    ],
  };
  const folder = (files: Record<string, unknown>) => {
    const path = mkdtempSync(join(dir, 'policies-'));
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(
        join(path, name),
        typeof content === 'string' ? content : JSON.stringify(content, null, 2),
      );
    }
    return path;
  };
  const versions = async (name: string) => {
    const res = await call(gw, 'GET', `/v1/policies/${name}/versions`, { key: tenant.adminToken });
    return res.status === 404 ? 0 : (res.body.versions as unknown[]).length;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-apply-'));
    mkdirSync(dir, { recursive: true });
    github = await startGitHub('acme/policies', 'ghp_clitoken0123456789');
    gw = await startTestGateway({ realClock: true, env: { GITHUB_API_URL: github.apiUrl } });
    live = await listen(gw);
    await registerEcho(gw);
    tenant = await createTenant(gw);
    admin = against(live.url)(tenant.adminToken);
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: tenant.adminToken,
      body: { default_action: 'auto_approve' },
    });
    expect(put.status).toBe(201);
    // Six executes under `default`: two of them at or above 200.00.
    for (const amount of [500, 1_500, 25_000, 9_000, 30_000, 100]) {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: 'echo', request: { sku: `s-${amount}`, amount_cents: amount } },
      });
      expect(res.status).toBe(200);
    }
  });
  afterAll(async () => {
    await live?.close();
    await gw?.dispose();
    await github?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run prints each diff and what would change on the last executes, and stores nothing', async () => {
    const path = folder({
      'default.json': bigOrders,
      'shop.json': { default_action: 'reject' },
      'notes.txt': 'x',
    });
    const [text, json] = await Promise.all([
      admin('policy', 'apply', path, '--dry-run'),
      admin('policy', 'apply', path, '--dry-run', '--json'),
    ]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Policy default (${join(path, 'default.json')}): version 1`);
    expect(text.stdout).toContain('--- default@v1');
    expect(text.stdout).toContain('+      "id": "big-orders",');
    expect(text.stdout).toContain('simulated on the last 6 executes: 2 decisions would change');
    expect(text.stdout).toContain('    rule big-orders: 2');
    expect(text.stdout).toMatch(/e\.g\. txn_\S+: auto_approve → reject/);
    expect(text.stdout).toContain(`Policy shop (${join(path, 'shop.json')}): would be created as version 1`);
    const report = json.json<{
      dryRun: boolean;
      policies: { name: string; impact: { examined: number; changed: number; byRule: unknown[] } }[];
    }>();
    expect(report.policies.map((p) => p.name)).toEqual(['default', 'shop']);
    expect(report.policies[0]?.impact).toMatchObject({
      examined: 6,
      changed: 2,
      byRule: [{ rule: 'rule big-orders', count: 2 }],
    });
    expect(await versions('default')).toBe(1);
    expect(await versions('shop')).toBe(0);
  });

  it('applies a folder whole, or not at all when one document is invalid', async () => {
    const bad = folder({ 'default.json': bigOrders, 'zzz.json': { default_action: 'sometimes' } });
    const refused = await admin('policy', 'apply', bad);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^warden: \S+zzz\.json is not a valid policy .*nothing was applied\. \(VALIDATION_ERROR\)\n$/,
    );
    expect(await versions('default')).toBe(1);
    const good = folder({ 'default.json': bigOrders, 'shop.json': { default_action: 'reject' } });
    const applied = await admin('policy', 'apply', good);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(
      /^Policy default is at version 2 \(\S+\)\.\nPolicy shop is at version 1 \(\S+\)\.\n$/,
    );
  });

  it('policy sync reads the linked file at the head of its branch', async () => {
    const link = await call(gw, 'PUT', '/v1/policies/default/source', {
      key: tenant.adminToken,
      body: {
        provider: 'github',
        repository: 'acme/policies',
        path: 'default.json',
        token: 'ghp_clitoken0123456789',
      },
    });
    expect(link.status).toBe(200);
    const sha = 'e5'.repeat(20);
    github.heads.set('main', { id: sha, name: 'Kim', email: 'kim@acme.test' });
    github.files.set(`${sha}:default.json`, JSON.stringify({ ...bigOrders, default_action: 'reject' }));
    const ran = await admin('policy', 'sync');
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toBe(`Policy default is at version 3 (commit ${sha}).\n`);
  });
});
