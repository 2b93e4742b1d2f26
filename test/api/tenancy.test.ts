import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ledger from '../../gateway/repositories/transactions.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import {
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { expectError } from './envelope.ts';

/** DESIGN §3 key-bound tenancy: the credential decides the workspace; nothing in a body or path can. */

let gw: TestGateway;
let home: Tenant;
let away: Tenant;
let echo: string;

beforeAll(async () => {
  gw = await startTestGateway();
  home = await createTenant(gw, { name: 'Home', agentId: 'home-agent' });
  away = await createTenant(gw, { name: 'Away', agentId: 'away-agent' });
  echo = await registerEcho(gw);
});
afterAll(async () => {
  await gw.dispose();
});

const execute = (key: string, body: unknown) => call(gw, 'POST', '/agp/execute', { key, body });

describe('transactions', () => {
  it("another workspace's transaction id is 404 TRANSACTION_NOT_FOUND, like an unknown id", async () => {
    const done = await execute(home.agentKey, {
      businessId: echo,
      request: { sku: 'sticker', amount_cents: 50 },
    });
    expect(done.status).toBe(200);
    const id = done.body.transactionId as string;
    expect(id).toMatch(/^txn_[0-9A-HJKMNP-TV-Z]{26}$/);

    const mine = await call(gw, 'GET', `/agp/status/${id}`, { key: home.agentKey });
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ transactionId: id, status: 'succeeded', businessId: echo });

    const theirs = await call(gw, 'GET', `/agp/status/${id}`, { key: away.agentKey });
    expectError(theirs, 404, 'TRANSACTION_NOT_FOUND');
    // Nothing of the transaction leaks into the refusal.
    expect(JSON.stringify(theirs.body)).not.toContain('sticker');

    const unknown = await call(gw, 'GET', '/agp/status/txn_01JZZZZZZZZZZZZZZZZZZZZZZZ', {
      key: away.agentKey,
    });
    expectError(unknown, 404, 'TRANSACTION_NOT_FOUND');
    // The two refusals cannot be told apart, so ids cannot be probed across workspaces.
    expect({ ...theirs.body, error: '', requestId: '' }).toEqual({
      ...unknown.body,
      error: '',
      requestId: '',
    });
  });

  it("the member API does not show another workspace's transaction either", async () => {
    const done = await execute(home.agentKey, { businessId: echo, request: { sku: 'sticker' } });
    const id = done.body.transactionId as string;
    expect((await call(gw, 'GET', `/v1/transactions/${id}`, { key: home.adminToken })).status).toBe(200);
    const theirs = await call(gw, 'GET', `/v1/transactions/${id}`, { key: away.adminToken });
    expect(theirs.status).toBe(404);
    expect(String(theirs.body.code)).toMatch(/NOT_FOUND$/);
  });
});

describe('agent keys', () => {
  it("another workspace's key cannot be revoked (404) and stays working", async () => {
    const res = await call(gw, 'DELETE', `/v1/keys/${home.agentKeyId}`, { key: away.adminToken });
    expectError(res, 404, 'NOT_FOUND');
    expect((await call(gw, 'GET', '/agp/businesses', { key: home.agentKey })).status).toBe(200);
    const listed = await call(gw, 'GET', '/v1/keys', { key: home.adminToken });
    const key = (listed.body.keys as { id: string; revokedAt: unknown }[]).find(
      (k) => k.id === home.agentKeyId,
    );
    expect(key).toBeDefined();
    expect(key?.revokedAt).toBeNull();
  });

  it('an unknown key id is 404 and the same refusal as a foreign one', async () => {
    expectError(
      await call(gw, 'DELETE', '/v1/keys/key_01JZZZZZZZZZZZZZZZZZZZZZZZ', { key: home.adminToken }),
      404,
      'NOT_FOUND',
    );
  });

  it('revoking twice is 404 the second time', async () => {
    const created = await call(gw, 'POST', '/v1/keys', { key: home.adminToken, body: { agentId: 'twice' } });
    const id = created.body.id as string;
    expect((await call(gw, 'DELETE', `/v1/keys/${id}`, { key: home.adminToken })).status).toBe(204);
    expectError(await call(gw, 'DELETE', `/v1/keys/${id}`, { key: home.adminToken }), 404, 'NOT_FOUND');
  });

  it('the listing shows only this workspace, never the secret nor its hash, only the prefix', async () => {
    const created = await call(gw, 'POST', '/v1/keys', { key: home.adminToken, body: { agentId: 'listed' } });
    expect(created.status).toBe(201);
    const secret = created.body.key as string;

    const listed = await call(gw, 'GET', '/v1/keys', { key: home.adminToken });
    expect(listed.status).toBe(200);
    const keys = listed.body.keys as Record<string, unknown>[];
    const ids = keys.map((k) => k.id);
    expect(ids).toContain(created.body.id);
    expect(ids).toContain(home.agentKeyId);
    expect(ids).not.toContain(away.agentKeyId);

    const text = JSON.stringify(listed.body);
    for (const s of [secret, home.agentKey, away.agentKey]) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(hashSecret(s));
    }
    for (const k of keys) {
      expect(Object.keys(k).sort()).toEqual(
        ['agentId', 'createdAt', 'id', 'policy', 'prefix', 'revokedAt', 'scopes'].sort(),
      );
    }
    const prefix = keys.find((k) => k.id === created.body.id)?.prefix;
    expect(typeof prefix).toBe('string');
    const shown = String(prefix);
    expect(shown.length).toBeGreaterThan(0);
    expect(secret.startsWith(shown)).toBe(true);
    // The prefix identifies the key to a person; it is far too short to be the key.
    expect(shown.length).toBeLessThan(secret.length / 2);
  });

  it('the other workspace sees its own keys only', async () => {
    const listed = await call(gw, 'GET', '/v1/keys', { key: away.adminToken });
    expect((listed.body.keys as { id: string }[]).map((k) => k.id)).toEqual([away.agentKeyId]);
  });
});

describe('the key decides the workspace', () => {
  it('a workspaceId in an execute body changes nothing: the transaction lands in the key’s workspace', async () => {
    const res = await execute(home.agentKey, {
      businessId: echo,
      workspaceId: away.workspaceId,
      request: { sku: 'sticker', amount_cents: 50 },
    });
    expect(res.status).toBe(200);
    const id = res.body.transactionId as string;
    expect((await call(gw, 'GET', `/agp/status/${id}`, { key: home.agentKey })).status).toBe(200);
    expectError(
      await call(gw, 'GET', `/agp/status/${id}`, { key: away.agentKey }),
      404,
      'TRANSACTION_NOT_FOUND',
    );
    const txn = await ledger.getTransaction(gw.db.reader, home.workspaceId, id);
    expect(txn?.workspaceId).toBe(home.workspaceId);
    expect(await ledger.getTransaction(gw.db.reader, away.workspaceId, id)).toBeUndefined();
  });

  it('a workspaceId in discover and query bodies changes nothing either', async () => {
    for (const [path, body] of [
      ['/agp/discover', { businessId: echo, workspaceId: away.workspaceId }],
      ['/agp/query', { businessId: echo, workspaceId: away.workspaceId, request: {} }],
    ] as const) {
      const res = await call(gw, 'POST', path, { key: home.agentKey, body });
      expect(res.status).toBe(200);
      const id = res.body.transactionId as string;
      expect(await ledger.getTransaction(gw.db.reader, home.workspaceId, id)).toBeDefined();
      expect(await ledger.getTransaction(gw.db.reader, away.workspaceId, id)).toBeUndefined();
    }
  });

  it('a member cannot name another workspace when creating a key: refused, nothing created there', async () => {
    const res = await call(gw, 'POST', '/v1/keys', {
      key: home.adminToken,
      body: { agentId: 'smuggled', workspaceId: away.workspaceId },
    });
    // Either refused as an unknown field, or created in the caller's own workspace; never in the other one.
    if (res.status === 201) {
      const mine = await call(gw, 'GET', '/v1/keys', { key: home.adminToken });
      expect((mine.body.keys as { id: string }[]).map((k) => k.id)).toContain(res.body.id);
    } else {
      expectError(res, 400, 'VALIDATION_ERROR');
    }
    const theirs = await call(gw, 'GET', '/v1/keys', { key: away.adminToken });
    expect((theirs.body.keys as { agentId: string }[]).map((k) => k.agentId)).not.toContain('smuggled');
  });

  it('a member made by one workspace admin belongs to that workspace only', async () => {
    const made = await call(gw, 'POST', '/v1/members', {
      key: home.adminToken,
      body: { email: 'dev@home.test', role: 'developer', workspaceId: away.workspaceId },
    });
    if (made.status !== 201) {
      expectError(made, 400, 'VALIDATION_ERROR');
      return;
    }
    const token = made.body.token as string;
    const key = await call(gw, 'POST', '/v1/keys', { key: token, body: { agentId: 'dev-made' } });
    expect(key.status).toBe(201);
    const mine = await call(gw, 'GET', '/v1/keys', { key: home.adminToken });
    expect((mine.body.keys as { id: string }[]).map((k) => k.id)).toContain(key.body.id);
  });
});
