import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.ts';
import { call, createTenant, startTestGateway, type Tenant, type TestGateway } from '../support/harness.ts';
import { expectError } from './envelope.ts';

/** Issue 11: members after they joined — list, role, removal, token rotation, and the last admin. */

interface Member {
  id: string;
  email: string;
  role: string;
  createdAt: string;
}

describe.each(DIALECTS)('members on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let other: Tenant;
  let adminId = '';
  let n = 0;

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw, { name: 'Home' });
    other = await createTenant(gw, { name: 'Other' });
    const listed = await call(gw, 'GET', '/v1/members', { key: tenant.adminToken });
    adminId = (listed.body.members as Member[])[0]?.id ?? '';
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
  });

  /** A member made through the API by `by` (the tenant's first admin unless said). */
  const addMember = async (role: 'admin' | 'developer' | 'approver', by = tenant.adminToken) => {
    const email = `${role}-${++n}@home.test`;
    const res = await call(gw, 'POST', '/v1/members', { key: by, body: { email, role } });
    expect(res.status).toBe(201);
    // POST /v1/members answers exactly as before: {member, token}.
    expect(Object.keys(res.body).sort()).toEqual(['member', 'token']);
    const member = res.body.member as { id: string; email: string; role: string };
    return { ...member, token: res.body.token as string };
  };

  const members = async (key = tenant.adminToken) => {
    const res = await call(gw, 'GET', '/v1/members', { key });
    expect(res.status).toBe(200);
    return res.body.members as Member[];
  };

  const admins = async (workspaceAdmin: string) =>
    (await members(workspaceAdmin)).filter((m) => m.role === 'admin');

  const auditActions = async (key = tenant.adminToken) => {
    const res = await call(gw, 'GET', '/v1/audit?limit=200', { key });
    expect(res.status).toBe(200);
    return (res.body.events as { action: string; target: string | null }[]).map(
      (e) => `${e.action} ${e.target}`,
    );
  };

  const chainIntact = async (key = tenant.adminToken) => {
    const res = await call(gw, 'GET', '/v1/audit/verify', { key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ valid: true, firstBrokenId: null });
  };

  it('any member lists the workspace members: id, email, role, createdAt, never a token or its hash', async () => {
    const approver = await addMember('approver');
    const list = await members(approver.token);
    expect(list.map((m) => m.id)).toContain(approver.id);
    expect(list.map((m) => m.id)).toContain(adminId);
    for (const m of list) {
      expect(Object.keys(m).sort()).toEqual(['createdAt', 'email', 'id', 'role']);
      expect(m.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    const text = JSON.stringify(list);
    expect(text).not.toContain(approver.token);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    // Another workspace's list is its own.
    expect((await members(other.adminToken)).map((m) => m.id)).not.toContain(approver.id);
  });

  it('an admin changes a role; the new role applies from the next request', async () => {
    const dev = await addMember('developer');
    expectError(await call(gw, 'GET', '/v1/audit', { key: dev.token }), 403, 'FORBIDDEN');
    const res = await call(gw, 'PATCH', `/v1/members/${dev.id}`, {
      key: tenant.adminToken,
      body: { role: 'admin' },
    });
    expect(res.status).toBe(200);
    expect(res.body.member).toMatchObject({ id: dev.id, email: dev.email, role: 'admin' });
    expect((await call(gw, 'GET', '/v1/audit', { key: dev.token })).status).toBe(200);
    expect(await auditActions()).toContain(`member.role_changed ${dev.id}`);
  });

  it('role changes are refused to non-admins, for unknown or foreign ids, and with a bad body', async () => {
    const dev = await addMember('developer');
    const approver = await addMember('approver');
    const patch = (id: string, key: string, body: unknown = { role: 'admin' }) =>
      call(gw, 'PATCH', `/v1/members/${id}`, { key, body });
    expectError(await patch(approver.id, dev.token), 403, 'FORBIDDEN');
    expectError(await patch(dev.id, dev.token), 403, 'FORBIDDEN');
    expectError(await patch('mem_nope', tenant.adminToken), 404, 'NOT_FOUND');
    expectError(await patch(dev.id, other.adminToken), 404, 'NOT_FOUND');
    expectError(await patch(dev.id, tenant.adminToken, { role: 'owner' }), 400, 'VALIDATION_ERROR');
    expectError(await patch(dev.id, tenant.adminToken, { role: 'admin', x: 1 }), 400, 'VALIDATION_ERROR');
    expect((await members()).find((m) => m.id === dev.id)?.role).toBe('developer');
  });

  it('an admin removes a member: gone from the list, and their token is refused (401) at once', async () => {
    const approver = await addMember('approver');
    expect((await call(gw, 'GET', '/v1/approvals', { key: approver.token })).status).toBe(200);
    expectError(
      await call(gw, 'DELETE', `/v1/members/${approver.id}`, { key: other.adminToken }),
      404,
      'NOT_FOUND',
    );
    const res = await call(gw, 'DELETE', `/v1/members/${approver.id}`, { key: tenant.adminToken });
    expect(res.status).toBe(204);
    expectError(await call(gw, 'GET', '/v1/approvals', { key: approver.token }), 401, 'UNAUTHORIZED');
    expectError(await call(gw, 'GET', '/v1/members', { key: approver.token }), 401, 'UNAUTHORIZED');
    expect((await members()).map((m) => m.id)).not.toContain(approver.id);
    expectError(
      await call(gw, 'DELETE', `/v1/members/${approver.id}`, { key: tenant.adminToken }),
      404,
      'NOT_FOUND',
    );
    // The email may be added again, as a new member.
    const again = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: approver.email, role: 'approver' },
    });
    expect(again.status).toBe(201);
    expect(await auditActions()).toContain(`member.removed ${approver.id}`);
  });

  it('the last admin can be neither demoted nor removed (409 LAST_ADMIN), by themself or anyone', async () => {
    const solo = await createTenant(gw, { name: 'Solo' });
    const [only] = await admins(solo.adminToken);
    if (!only) throw new Error('no admin');
    expectError(
      await call(gw, 'PATCH', `/v1/members/${only.id}`, {
        key: solo.adminToken,
        body: { role: 'developer' },
      }),
      409,
      'LAST_ADMIN',
      /last admin/,
    );
    expectError(
      await call(gw, 'DELETE', `/v1/members/${only.id}`, { key: solo.adminToken }),
      409,
      'LAST_ADMIN',
    );
    // Setting the role it already has is no change, so it is allowed.
    const same = await call(gw, 'PATCH', `/v1/members/${only.id}`, {
      key: solo.adminToken,
      body: { role: 'admin' },
    });
    expect(same.status).toBe(200);
    expect(await admins(solo.adminToken)).toHaveLength(1);

    // With a second admin, the first may step down; then the second is the last one.
    const second = await addMember('admin', solo.adminToken);
    const down = await call(gw, 'PATCH', `/v1/members/${only.id}`, {
      key: solo.adminToken,
      body: { role: 'developer' },
    });
    expect(down.status).toBe(200);
    expectError(
      await call(gw, 'DELETE', `/v1/members/${second.id}`, { key: second.token }),
      409,
      'LAST_ADMIN',
    );
    expect((await admins(second.token)).map((m) => m.id)).toEqual([second.id]);
    await chainIntact(second.token);
  });

  it('two admins demoting each other at the same moment leave exactly one admin', async () => {
    for (let round = 0; round < 5; round++) {
      const ws = await createTenant(gw, { name: `Race ${round}` });
      const [a] = await admins(ws.adminToken);
      const b = await addMember('admin', ws.adminToken);
      if (!a) throw new Error('no admin');
      const [ab, ba] = await Promise.all([
        call(gw, 'PATCH', `/v1/members/${b.id}`, { key: ws.adminToken, body: { role: 'developer' } }),
        call(gw, 'PATCH', `/v1/members/${a.id}`, { key: b.token, body: { role: 'developer' } }),
      ]);
      const statuses = [ab.status, ba.status].sort();
      // One wins; the other finds itself no longer an admin (403) or the other the last one (409).
      expect(statuses[0]).toBe(200);
      expect([403, 409]).toContain(statuses[1]);
      const left = (await members(ab.status === 200 ? ws.adminToken : b.token)).filter(
        (m) => m.role === 'admin',
      );
      expect(left).toHaveLength(1);
    }
  });

  it('two admins removing each other at the same moment leave exactly one admin', async () => {
    for (let round = 0; round < 5; round++) {
      const ws = await createTenant(gw, { name: `Purge ${round}` });
      const [a] = await admins(ws.adminToken);
      const b = await addMember('admin', ws.adminToken);
      if (!a) throw new Error('no admin');
      const [ab, ba] = await Promise.all([
        call(gw, 'DELETE', `/v1/members/${b.id}`, { key: ws.adminToken }),
        call(gw, 'DELETE', `/v1/members/${a.id}`, { key: b.token }),
      ]);
      const statuses = [ab.status, ba.status].sort();
      expect(statuses[0]).toBe(204);
      // The loser was removed a moment ago: its token no longer authenticates (401), or it lost the race
      // inside the transaction (403, 409).
      expect([401, 403, 409]).toContain(statuses[1]);
      const survivor = ab.status === 204 ? ws.adminToken : b.token;
      expect(await admins(survivor)).toHaveLength(1);
      await chainIntact(survivor);
    }
  });

  it('a member rotates their own token: the new one works, the old one is refused at once', async () => {
    const dev = await addMember('developer');
    const res = await call(gw, 'POST', `/v1/members/${dev.id}/rotate-token`, { key: dev.token });
    expect(res.status).toBe(200);
    expect(res.body.member).toMatchObject({ id: dev.id, email: dev.email, role: 'developer' });
    const token = res.body.token as string;
    expect(token).toMatch(/^wm_/);
    expect(token).not.toBe(dev.token);
    expectError(await call(gw, 'GET', '/v1/keys', { key: dev.token }), 401, 'UNAUTHORIZED');
    expect((await call(gw, 'GET', '/v1/keys', { key: token })).status).toBe(200);
    expect(await auditActions()).toContain(`member.token_rotated ${dev.id}`);
  });

  it("an admin rotates anyone's token; others only their own", async () => {
    const dev = await addMember('developer');
    const approver = await addMember('approver');
    expectError(
      await call(gw, 'POST', `/v1/members/${approver.id}/rotate-token`, { key: dev.token }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await call(gw, 'POST', `/v1/members/${approver.id}/rotate-token`, { key: other.adminToken }),
      404,
      'NOT_FOUND',
    );
    expect((await call(gw, 'GET', '/v1/keys', { key: approver.token })).status).toBe(200);
    const res = await call(gw, 'POST', `/v1/members/${approver.id}/rotate-token`, { key: tenant.adminToken });
    expect(res.status).toBe(200);
    expectError(await call(gw, 'GET', '/v1/keys', { key: approver.token }), 401, 'UNAUTHORIZED');
    expect((await call(gw, 'GET', '/v1/keys', { key: res.body.token as string })).status).toBe(200);
  });

  it('every change is in /v1/audit and the chain verifies', async () => {
    const actions = (await auditActions()).map((a) => a.split(' ')[0]);
    for (const action of [
      'member.created',
      'member.role_changed',
      'member.removed',
      'member.token_rotated',
    ]) {
      expect(actions).toContain(action);
    }
    await chainIntact();
  });
});
