import { createHash } from 'node:crypto';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { cleanEnv, runNode } from '../process/spawn.ts';
import { DIALECTS, freshDatabase, type TestDatabase } from '../support/dialects.ts';
import {
  call,
  createTenant,
  startTestGateway,
  TEST_SECRETS_KEY,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const COLUMNS =
  'id, workspace_id, actor_type, actor_id, action, target, data, created_at, seq, prev_hash, hash';
type Row = Record<string, unknown> & { id: string; seq: number; prev_hash: string | null; hash: string };
const NAMES = COLUMNS.split(', ');

/** `warden audit verify` against this database, as an operator runs it. */
async function cliVerify(databaseUrl: string, args: string[] = []) {
  const run = runNode(
    join('gateway', 'bin', 'warden.js'),
    ['audit', 'verify', '--json', ...args],
    cleanEnv({ DATABASE_URL: databaseUrl, SECRETS_KEY: TEST_SECRETS_KEY }),
  );
  const result = await run.exited;
  return {
    code: result.code,
    out: JSON.parse(result.stdout || '{}') as Record<string, unknown>,
    stderr: result.stderr,
  };
}

// DESIGN §9 (normative): every audit event hashed over its columns and its predecessor's hash.
describe.each(DIALECTS)('the audit chain on %s', (dialect) => {
  let database: TestDatabase;
  let gw: TestGateway;
  let tenant: Tenant;

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    gw = await startTestGateway({ databaseUrl: database.url, realClock: true });
    tenant = await createTenant(gw);
    // A few audited changes of different kinds.
    for (const agentId of ['a', 'b', 'c']) {
      expect((await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId } })).status).toBe(
        201,
      );
    }
    await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'ann@acme.test', role: 'approver' },
    });
    await call(gw, 'POST', '/v1/webhooks', {
      key: tenant.adminToken,
      body: { url: 'https://hooks.example.com/warden', events: ['transaction.completed'] },
    });
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
    await database.drop();
  });

  const rows = async (): Promise<Row[]> =>
    (
      await gw.db.reader.all(sql(`SELECT ${COLUMNS} FROM audit_events WHERE workspace_id = ? ORDER BY seq`), [
        tenant.workspaceId,
      ])
    ).map((r) => Object.fromEntries(NAMES.map((n, i) => [n, (r as unknown[])[i]])) as Row);

  const tamper = (text: string, params: unknown[]) =>
    gw.db.transaction({}, (tx) => tx.run(sql(text), params));

  it('each event carries its place, its predecessor and a hash anyone can recompute (RFC 8785 over the other columns)', async () => {
    const chain = await rows();
    expect(chain.length).toBeGreaterThanOrEqual(6);
    chain.forEach((row, i) => {
      expect(row.seq).toBe(i + 1);
      expect(row.prev_hash).toBe(i === 0 ? null : chain[i - 1]?.hash);
      const { hash, ...rest } = row;
      expect(hash).toBe(sha256(canonicalize(rest) as string));
    });
    const listed = await call(gw, 'GET', '/v1/audit?limit=200', { key: tenant.adminToken });
    const newest = (listed.body.events as { hash: string; seq: number }[])[0];
    expect(newest?.hash).toBe(chain.at(-1)?.hash);
    expect(newest?.seq).toBe(chain.length);
  });

  it('an intact chain verifies, by the API and by `warden audit verify`', async () => {
    const res = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ valid: true, checked: (await rows()).length, firstBrokenId: null });
    const cli = await cliVerify(database.url);
    expect(cli.code).toBe(0);
    expect(cli.out).toMatchObject({ valid: true, firstBrokenId: null });
  });

  it('a row changed in the database is named, by the API and by the CLI (exit 1)', async () => {
    const chain = await rows();
    const victim = chain[2] as Row;
    const original = victim.data as string;
    await tamper('UPDATE audit_events SET data = ? WHERE id = ?', ['{"agentId":"someone-else"}', victim.id]);
    const res = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
    expect(res.body).toEqual({ valid: false, checked: 3, firstBrokenId: victim.id });
    const cli = await cliVerify(database.url);
    expect(cli.code).toBe(1);
    expect(cli.out).toMatchObject({ valid: false, firstBrokenId: victim.id });
    // Even with its hash recomputed to match, the next event still names the old hash.
    const { hash: _old, ...rest } = { ...victim, data: '{"agentId":"someone-else"}' };
    await tamper('UPDATE audit_events SET hash = ? WHERE id = ?', [
      sha256(canonicalize(rest) as string),
      victim.id,
    ]);
    const again = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
    expect(again.body.firstBrokenId).toBe(chain[3]?.id);
    // Put back: the chain verifies again.
    await tamper('UPDATE audit_events SET data = ?, hash = ? WHERE id = ?', [
      original,
      victim.hash,
      victim.id,
    ]);
    expect((await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken })).body.valid).toBe(true);
  });

  it('a deleted row breaks the chain at its successor; a row written around the chain is named too', async () => {
    const chain = await rows();
    const removed = chain[1] as Row;
    await tamper('DELETE FROM audit_events WHERE id = ?', [removed.id]);
    const res = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
    expect(res.body).toMatchObject({ valid: false, firstBrokenId: chain[2]?.id });
    // Restore it, then slip in a forged event without a place in the chain.
    const values = NAMES.map((n) => removed[n]);
    await tamper(`INSERT INTO audit_events (${COLUMNS}) VALUES (${NAMES.map(() => '?').join(', ')})`, values);
    expect((await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken })).body.valid).toBe(true);
    await tamper(
      "INSERT INTO audit_events (id, workspace_id, actor_type, actor_id, action, target, data, created_at) VALUES ('aud_forged', ?, 'member', 'mem_x', 'agent_key.revoked', 'key_x', '{}', 1)",
      [tenant.workspaceId],
    );
    const forged = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
    expect(forged.body).toMatchObject({ valid: false, firstBrokenId: 'aud_forged' });
    await tamper("DELETE FROM audit_events WHERE id = 'aud_forged'", []);
  });

  it('another workspace has its own chain, untouched by this one', async () => {
    const other = await createTenant(gw, { name: 'Other' });
    const res = await call(gw, 'GET', '/v1/audit/verify', { key: other.adminToken });
    expect(res.body).toMatchObject({ valid: true, firstBrokenId: null });
    expect(res.body.checked).toBeGreaterThanOrEqual(2);
  });

  it('lists filtered by action, actor, target and time, page by page', async () => {
    const all = (await call(gw, 'GET', '/v1/audit?limit=200', { key: tenant.adminToken })).body.events as {
      id: string;
      action: string;
      actor: { id: string };
      target: string;
      createdAt: string;
    }[];
    const keys = await call(gw, 'GET', '/v1/audit?action=agent_key.created', { key: tenant.adminToken });
    const created = keys.body.events as { action: string }[];
    expect(created.length).toBe(all.filter((e) => e.action === 'agent_key.created').length);
    expect(created.every((e) => e.action === 'agent_key.created')).toBe(true);
    const family = await call(gw, 'GET', '/v1/audit?action=agent_key.*', { key: tenant.adminToken });
    expect((family.body.events as unknown[]).length).toBe(created.length);
    const one = all[0] as (typeof all)[number];
    const byTarget = await call(gw, 'GET', `/v1/audit?target=${one.target}`, { key: tenant.adminToken });
    expect((byTarget.body.events as { id: string }[]).map((e) => e.id)).toContain(one.id);
    const byActor = await call(gw, 'GET', `/v1/audit?actor=${one.actor.id}`, { key: tenant.adminToken });
    expect(
      (byActor.body.events as { actor: { id: string } }[]).every((e) => e.actor.id === one.actor.id),
    ).toBe(true);
    const future = await call(gw, 'GET', '/v1/audit?from=2999-01-01T00:00:00Z', { key: tenant.adminToken });
    expect(future.body.events).toEqual([]);
    // Paging: two at a time, every event once, newest first.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof call>> = await call(
        gw,
        'GET',
        `/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { key: tenant.adminToken },
      );
      seen.push(...(page.body.events as { id: string }[]).map((e) => e.id));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual(all.map((e) => e.id));
    const bad = await call(gw, 'GET', '/v1/audit?from=yesterday', { key: tenant.adminToken });
    expect(bad.status).toBe(400);
  });
});
