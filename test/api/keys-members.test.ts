import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ledger from '../../gateway/repositories/transactions.ts';
import {
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { expectError, issuePaths } from './envelope.ts';

/** DESIGN §5 member API: agent keys (create, list, revoke) and members. */

let gw: TestGateway;
let tenant: Tenant;
let echo: string;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await createTenant(gw);
  echo = await registerEcho(gw);
});
afterAll(async () => {
  await gw.dispose();
});

const asAdmin = (method: string, path: string, body?: unknown) =>
  call(gw, method, path, { key: tenant.adminToken, body });

describe('POST /v1/keys', () => {
  it('creates a key with all three scopes by default and shows the secret once', async () => {
    const res = await asAdmin('POST', '/v1/keys', { agentId: 'shopper' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^key_[0-9A-HJKMNP-TV-Z]{26}$/),
      key: expect.any(String),
      agentId: 'shopper',
      scopes: expect.arrayContaining(['discover', 'query', 'execute']),
    });
    expect((res.body.scopes as string[]).length).toBe(3);
    const key = res.body.key as string;
    // Prefixed, and at least 128 random bits (DESIGN §3): 22+ base64url characters after the prefix.
    expect(key).toMatch(/^[a-z]+_[A-Za-z0-9_-]{22,}$/);

    // The secret works at once, on every scope.
    expect((await call(gw, 'POST', '/agp/discover', { key, body: { businessId: echo } })).status).toBe(200);
    expect(
      (await call(gw, 'POST', '/agp/query', { key, body: { businessId: echo, request: {} } })).status,
    ).toBe(200);
    const exec = await call(gw, 'POST', '/agp/execute', {
      key,
      body: { businessId: echo, request: { sku: 'sticker' } },
    });
    expect(exec.status).toBe(200);

    // Shown once: the listing never repeats it.
    const listed = await asAdmin('GET', '/v1/keys');
    expect(JSON.stringify(listed.body)).not.toContain(key);
  });

  it('the executed transaction is attributed to the key’s agent', async () => {
    const created = await asAdmin('POST', '/v1/keys', { agentId: 'attributed' });
    const exec = await call(gw, 'POST', '/agp/execute', {
      key: created.body.key as string,
      body: { businessId: echo, request: { sku: 'sticker' } },
    });
    const txn = await ledger.getTransaction(
      gw.db.reader,
      tenant.workspaceId,
      exec.body.transactionId as string,
    );
    expect(txn?.agentId).toBe('attributed');
    expect(txn?.agentKeyId).toBe(created.body.id);
  });

  it('two keys are never the same', async () => {
    const a = await asAdmin('POST', '/v1/keys', { agentId: 'same' });
    const b = await asAdmin('POST', '/v1/keys', { agentId: 'same' });
    expect(a.body.key).not.toBe(b.body.key);
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('custom scopes are kept, and deduplicated', async () => {
    const res = await asAdmin('POST', '/v1/keys', {
      agentId: 'reader',
      scopes: ['query', 'discover', 'query'],
    });
    expect(res.status).toBe(201);
    expect([...(res.body.scopes as string[])].sort()).toEqual(['discover', 'query']);
    const key = res.body.key as string;
    expect(
      (await call(gw, 'POST', '/agp/query', { key, body: { businessId: echo, request: {} } })).status,
    ).toBe(200);
    expectError(
      await call(gw, 'POST', '/agp/execute', { key, body: { businessId: echo, request: {} } }),
      403,
      'FORBIDDEN',
    );
    const listed = await asAdmin('GET', '/v1/keys');
    const entry = (listed.body.keys as { id: string; scopes: string[] }[]).find((k) => k.id === res.body.id);
    expect([...(entry?.scopes ?? [])].sort()).toEqual(['discover', 'query']);
  });

  it.each([
    [{ agentId: 'x', scopes: ['admin'] }, 'scopes.0'],
    [{ agentId: 'x', scopes: ['execute', 'delete'] }, 'scopes.1'],
    [{ agentId: 'x', scopes: [] }, 'scopes'],
    [{ agentId: 'x', scopes: 'execute' }, 'scopes'],
    [{ agentId: '' }, 'agentId'],
    [{}, 'agentId'],
    [{ agentId: 'x'.repeat(129) }, 'agentId'],
  ])('refuses %j with 400 VALIDATION_ERROR naming %s', async (body, path) => {
    const before = await asAdmin('GET', '/v1/keys');
    const res = await asAdmin('POST', '/v1/keys', body);
    expectError(res, 400, 'VALIDATION_ERROR');
    expect(issuePaths(res)).toContain(path);
    // Nothing was created.
    expect((await asAdmin('GET', '/v1/keys')).body).toEqual(before.body);
  });

  it('a body that is not JSON is 400 VALIDATION_ERROR', async () => {
    const res = await call(gw, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      rawBody: '{"agentId":',
      headers: { 'Content-Type': 'application/json' },
    });
    expectError(res, 400, 'VALIDATION_ERROR');
  });
});

describe('GET /v1/keys and DELETE /v1/keys/:id', () => {
  it('lists a created key, and shows it revoked after DELETE', async () => {
    const created = await asAdmin('POST', '/v1/keys', { agentId: 'temp' });
    const id = created.body.id as string;
    const entry = async () =>
      ((await asAdmin('GET', '/v1/keys')).body.keys as Record<string, unknown>[]).find((k) => k.id === id);

    expect(await entry()).toMatchObject({
      id,
      agentId: 'temp',
      revokedAt: null,
      createdAt: expect.any(String),
    });
    const revoked = await asAdmin('DELETE', `/v1/keys/${id}`);
    expect(revoked.status).toBe(204);
    expect(revoked.headers.get('X-Request-Id')).toBeTruthy();
    const after = await entry();
    expect(after?.revokedAt).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/));
    expectError(
      await call(gw, 'GET', '/agp/businesses', { key: created.body.key as string }),
      401,
      'UNAUTHORIZED',
    );
  });
});

describe('POST /v1/members', () => {
  it('adds a member and returns its token once', async () => {
    const res = await asAdmin('POST', '/v1/members', { email: 'Dana@Acme.test', role: 'developer' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      member: { id: expect.stringMatching(/^mem_/), email: 'dana@acme.test', role: 'developer' },
      token: expect.any(String),
    });
    expect((res.body.token as string).length).toBeGreaterThanOrEqual(22);
  });

  it('a duplicate email is 409 CONFLICT, whatever its case, and the first token keeps working', async () => {
    const first = await asAdmin('POST', '/v1/members', { email: 'sam@acme.test', role: 'approver' });
    expect(first.status).toBe(201);
    expectError(
      await asAdmin('POST', '/v1/members', { email: 'sam@acme.test', role: 'admin' }),
      409,
      'CONFLICT',
    );
    expectError(
      await asAdmin('POST', '/v1/members', { email: 'SAM@acme.test', role: 'admin' }),
      409,
      'CONFLICT',
    );
    // The refused admin role did not reach Sam: still an approver.
    expectError(
      await call(gw, 'POST', '/v1/keys', { key: first.body.token as string, body: { agentId: 'x' } }),
      403,
      'FORBIDDEN',
    );
  });

  it('the same email may be a member of another workspace', async () => {
    const other = await createTenant(gw, { name: 'Other' });
    await asAdmin('POST', '/v1/members', { email: 'shared@acme.test', role: 'developer' });
    const res = await call(gw, 'POST', '/v1/members', {
      key: other.adminToken,
      body: { email: 'shared@acme.test', role: 'developer' },
    });
    expect(res.status).toBe(201);
  });

  it.each(['admin', 'developer', 'approver'] as const)(
    'a new %s authenticates with its role',
    async (role) => {
      const res = await asAdmin('POST', '/v1/members', { email: `${role}-role@acme.test`, role });
      expect(res.status).toBe(201);
      const token = res.body.token as string;

      // Every member may read the keys of its own workspace.
      const listed = await call(gw, 'GET', '/v1/keys', { key: token });
      expect(listed.status).toBe(200);
      expect((listed.body.keys as { id: string }[]).map((k) => k.id)).toContain(tenant.agentKeyId);

      const key = await call(gw, 'POST', '/v1/keys', { key: token, body: { agentId: `${role}-bot` } });
      expect(key.status).toBe(role === 'approver' ? 403 : 201);

      const member = await call(gw, 'POST', '/v1/members', {
        key: token,
        body: { email: `by-${role}@acme.test`, role: 'approver' },
      });
      expect(member.status).toBe(role === 'admin' ? 201 : 403);

      // A member token is not an agent key.
      expectError(await call(gw, 'GET', '/agp/businesses', { key: token }), 401, 'UNAUTHORIZED');
    },
  );

  it.each([
    [{ email: 'x@acme.test', role: 'owner' }, 'role'],
    [{ email: 'x@acme.test' }, 'role'],
    [{ email: 'nope', role: 'admin' }, 'email'],
    [{ role: 'admin' }, 'email'],
  ])('refuses %j with 400 VALIDATION_ERROR naming %s', async (body, path) => {
    const res = await asAdmin('POST', '/v1/members', body);
    expectError(res, 400, 'VALIDATION_ERROR');
    expect(issuePaths(res)).toContain(path);
  });
});
