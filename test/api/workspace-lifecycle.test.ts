import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { verifyAllChains } from '../../gateway/services/ledger/audit.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { expectError } from './envelope.ts';

/** Issue 11: the operator archives, restores and deletes workspaces; archived ones refuse every key and token. */

interface WorkspaceView {
  id: string;
  name: string;
  createdAt: string;
  archived: boolean;
  archivedAt: string | null;
}

const stage = {
  stage_index: 0,
  role: 'approver',
  tier: 'standard',
  approval_timeout_seconds: 3600,
  on_approval_timeout: 'reject',
};

describe.each(DIALECTS)('workspace lifecycle on %s', (dialect) => {
  let gw: TestGateway;
  let echo: string;
  let bystander: Tenant;

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    echo = await registerEcho(gw);
    bystander = await createTenant(gw, { name: 'Bystander' });
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
  });

  const operator = (method: string, path: string, body?: unknown) =>
    call(gw, method, path, { key: ADMIN_TOKEN, body });
  const execute = (key: string, amount = 50) =>
    call(gw, 'POST', '/agp/execute', {
      key,
      body: { businessId: echo, request: { sku: 'sticker', quantity: 1, amount_cents: amount } },
    });
  const listed = async () => {
    const res = await operator('GET', '/v1/admin/workspaces');
    expect(res.status).toBe(200);
    return res.body.workspaces as WorkspaceView[];
  };

  /** Every table with a workspace_id column, read from the database itself (tables added later included). */
  const tablesWithWorkspaceId = async (): Promise<string[]> => {
    if (gw.db.dialect === 'postgres') {
      return gw.db.reader.all(
        sql(
          `SELECT table_name FROM information_schema.columns
           WHERE column_name = 'workspace_id' AND table_schema = current_schema() ORDER BY table_name`,
          (r) => r[0] as string,
        ),
      );
    }
    const tables = await gw.db.reader.all(
      sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_\\_%' ESCAPE '\\'",
        (r) => r[0] as string,
      ),
    );
    const out: string[] = [];
    for (const table of tables) {
      const cols = await gw.db.reader.all(
        sql(`SELECT name FROM pragma_table_info('${table}')`, (r) => r[0] as string),
      );
      if (cols.includes('workspace_id')) out.push(table);
    }
    return out.sort();
  };
  const rowsOf = async (workspaceId: string) => {
    const counts: Record<string, number> = {};
    for (const table of await tablesWithWorkspaceId()) {
      counts[table] =
        (await gw.db.reader.get(
          sql(`SELECT count(*) FROM ${table} WHERE workspace_id = ?`, (r) => Number(r[0])),
          [workspaceId],
        )) ?? 0;
    }
    return counts;
  };

  it('lists every workspace with its archived flag', async () => {
    const ws = await listed();
    const mine = ws.find((w) => w.id === bystander.workspaceId);
    expect(mine).toEqual({
      id: bystander.workspaceId,
      name: 'Bystander',
      createdAt: expect.stringMatching(/^\d{4}-/),
      archived: false,
      archivedAt: null,
    });
  });

  it('archived: its agent key is refused on /agp/execute (403 WORKSPACE_ARCHIVED), its member tokens too; restore → works again', async () => {
    const tenant = await createTenant(gw, { name: 'Sleepy' });
    const member = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'dev@sleepy.test', role: 'developer' },
    });
    const devToken = member.body.token as string;
    expect((await execute(tenant.agentKey)).status).toBe(200);

    const archived = await operator('POST', `/v1/admin/workspaces/${tenant.workspaceId}/archive`);
    expect(archived.status).toBe(200);
    expect(archived.body.workspace).toMatchObject({ id: tenant.workspaceId, name: 'Sleepy', archived: true });
    expect((archived.body.workspace as WorkspaceView).archivedAt).toMatch(/^\d{4}-/);

    expectError(await execute(tenant.agentKey), 403, 'WORKSPACE_ARCHIVED', /archived/);
    expectError(
      await call(gw, 'POST', '/agp/discover', { key: tenant.agentKey, body: { businessId: echo } }),
      403,
      'WORKSPACE_ARCHIVED',
    );
    expectError(await call(gw, 'GET', '/v1/keys', { key: tenant.adminToken }), 403, 'WORKSPACE_ARCHIVED');
    expectError(await call(gw, 'GET', '/v1/members', { key: devToken }), 403, 'WORKSPACE_ARCHIVED');
    expectError(
      await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId: 'x' } }),
      403,
      'WORKSPACE_ARCHIVED',
    );
    // A key or token that never existed is still 401, not a hint about archived workspaces.
    expectError(await call(gw, 'GET', '/v1/keys', { key: `${tenant.adminToken}x` }), 401, 'UNAUTHORIZED');
    // Other workspaces are untouched.
    expect((await execute(bystander.agentKey)).status).toBe(200);
    expect((await listed()).find((w) => w.id === tenant.workspaceId)?.archived).toBe(true);
    // Archiving again changes nothing.
    const again = await operator('POST', `/v1/admin/workspaces/${tenant.workspaceId}/archive`);
    expect(again.status).toBe(200);
    expect(again.body.workspace).toEqual(archived.body.workspace);

    const restored = await operator('POST', `/v1/admin/workspaces/${tenant.workspaceId}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body.workspace).toMatchObject({ archived: false, archivedAt: null });
    expect((await execute(tenant.agentKey)).status).toBe(200);
    expect((await call(gw, 'GET', '/v1/members', { key: devToken })).status).toBe(200);

    // The data was kept all along: the transactions from before are there.
    const txns = await call(gw, 'GET', '/v1/transactions', { key: tenant.adminToken });
    expect(txns.status).toBe(200);
    expect((txns.body.transactions as unknown[]).length).toBe(2);

    const audit = await call(gw, 'GET', '/v1/audit?limit=200', { key: tenant.adminToken });
    const actions = (audit.body.events as { action: string; actor: { type: string } }[]).map(
      (e) => `${e.action}:${e.actor.type}`,
    );
    expect(actions).toContain('workspace.archived:operator');
    expect(actions).toContain('workspace.restored:operator');
    expect(actions.filter((a) => a.startsWith('workspace.archived'))).toHaveLength(1);
    const verify = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
    expect(verify.body).toMatchObject({ valid: true, firstBrokenId: null });
  });

  it('archive, restore and delete of an unknown workspace are 404', async () => {
    expectError(await operator('POST', '/v1/admin/workspaces/ws_nope/archive'), 404, 'NOT_FOUND');
    expectError(await operator('POST', '/v1/admin/workspaces/ws_nope/restore'), 404, 'NOT_FOUND');
    expectError(await operator('DELETE', '/v1/admin/workspaces/ws_nope', { confirm: 'x' }), 404, 'NOT_FOUND');
  });

  it('delete needs an archived workspace (409) and its exact name as confirm (400)', async () => {
    const tenant = await createTenant(gw, { name: 'Keep Me' });
    const path = `/v1/admin/workspaces/${tenant.workspaceId}`;
    expectError(await operator('DELETE', path, { confirm: 'Keep Me' }), 409, 'WORKSPACE_NOT_ARCHIVED');
    expect((await operator('POST', `${path}/archive`)).status).toBe(200);
    expectError(await operator('DELETE', path), 400, 'VALIDATION_ERROR');
    expectError(await operator('DELETE', path, {}), 400, 'VALIDATION_ERROR');
    expectError(await operator('DELETE', path, { confirm: 'keep me' }), 400, 'VALIDATION_ERROR');
    expectError(await operator('DELETE', path, { confirm: tenant.workspaceId }), 400, 'VALIDATION_ERROR');
    expectError(await operator('DELETE', path, { confirm: 'Keep Me', extra: 1 }), 400, 'VALIDATION_ERROR');
    // Nothing was deleted.
    expect((await listed()).find((w) => w.id === tenant.workspaceId)?.archived).toBe(true);
    expect((await operator('POST', `${path}/restore`)).status).toBe(200);
    expect((await execute(tenant.agentKey)).status).toBe(200);
  });

  it('deleting removes every row of the workspace in every table with a workspace_id, and is audited for the operator', async () => {
    const tenant = await createTenant(gw, { name: 'Doomed' });
    const admin = tenant.adminToken;
    // Rows in as many tables as one workspace can fill: transactions, spend, receipts, idempotency,
    // confirmation tokens, policies, approvals and their outbox email, webhooks, invites, members, audit.
    await call(gw, 'POST', '/v1/members', {
      key: admin,
      body: { email: 'ann@doomed.test', role: 'approver' },
    });
    expect(
      (
        await call(gw, 'PUT', '/v1/policies/gated', {
          key: admin,
          body: { confirmation: { above_amount: 1000 }, routing_stages: [stage] },
        })
      ).status,
    ).toBe(201);
    const gated = await call(gw, 'POST', '/v1/keys', {
      key: admin,
      body: { agentId: 'gated', policy: 'gated' },
    });
    expect((await execute(gated.body.key as string, 5000)).status).toBe(202);
    const idem = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      headers: { 'Idempotency-Key': 'once' },
      body: { businessId: echo, request: { sku: 'pen', amount_cents: 10 } },
    });
    expect(idem.status).toBe(200);
    expect(
      (
        await call(gw, 'POST', '/agp/execute/prepare', {
          key: tenant.agentKey,
          body: { businessId: echo, request: { sku: 'pen', amount_cents: 10 } },
        })
      ).status,
    ).toBe(200);
    await call(gw, 'POST', '/v1/webhooks', {
      key: admin,
      body: { url: 'https://hooks.example.com/warden', events: ['transaction.completed'] },
    });
    await call(gw, 'POST', '/v1/invites', {
      key: admin,
      body: { email: 'bob@doomed.test', role: 'developer' },
    });

    const before = await rowsOf(tenant.workspaceId);
    for (const table of [
      'members',
      'agent_keys',
      'transactions',
      'approvals',
      'policies',
      'policy_versions',
      'audit_events',
      'receipts',
      'spend_buckets',
      'confirmation_tokens',
      'outbox',
      'webhooks',
      'invites',
    ]) {
      expect(before[table], table).toBeGreaterThan(0);
    }
    const bystanderBefore = await rowsOf(bystander.workspaceId);

    const path = `/v1/admin/workspaces/${tenant.workspaceId}`;
    expect((await operator('POST', `${path}/archive`)).status).toBe(200);
    const res = await operator('DELETE', path, { confirm: 'Doomed' });
    expect(res.status).toBe(204);

    const after = await rowsOf(tenant.workspaceId);
    expect(Object.values(after).every((n) => n === 0)).toBe(true);
    expect(Object.keys(after)).toEqual(expect.arrayContaining(['invites', 'members', 'audit_events']));
    expect(
      await gw.db.reader.get(
        sql('SELECT count(*) FROM workspaces WHERE id = ?', (r) => Number(r[0])),
        [tenant.workspaceId],
      ),
    ).toBe(0);
    expect(
      await gw.db.reader.get(
        sql('SELECT count(*) FROM idempotency_keys WHERE agent_key_id = ?', (r) => Number(r[0])),
        [tenant.agentKeyId],
      ),
    ).toBe(0);
    // Another workspace keeps every row.
    expect(await rowsOf(bystander.workspaceId)).toEqual(bystanderBefore);
    expect((await listed()).map((w) => w.id)).not.toContain(tenant.workspaceId);

    // Its key and token no longer exist (401); a second delete finds nothing.
    expectError(await execute(tenant.agentKey), 401, 'UNAUTHORIZED');
    expectError(await call(gw, 'GET', '/v1/keys', { key: admin }), 401, 'UNAUTHORIZED');
    expectError(await operator('DELETE', path, { confirm: 'Doomed' }), 404, 'NOT_FOUND');

    // The deletion is an operator event in the operator's chain, and every chain still verifies.
    const event = await gw.db.reader.get(
      sql(
        "SELECT actor_type, workspace_id, data FROM audit_events WHERE action = 'workspace.deleted' AND target = ?",
        (r) => ({ actorType: r[0], workspaceId: r[1], data: JSON.parse(r[2] as string) }),
      ),
      [tenant.workspaceId],
    );
    expect(event).toMatchObject({ actorType: 'operator', workspaceId: null, data: { name: 'Doomed' } });
    expect(event?.data.removed.transactions).toBe(before.transactions);
    for (const { chain, verdict } of await verifyAllChains(gw.db.reader)) {
      expect({ chain, ...verdict }).toMatchObject({ chain, valid: true });
    }
  });
});
