import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSealer } from '../../gateway/crypto/sealing.ts';
import { sql } from '../../gateway/db/types.ts';
import { verifyAllChains } from '../../gateway/services/ledger/audit.ts';
import { resealSecrets } from '../../gateway/services/platform/secrets.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  type RecordedRequest,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { expectError } from './envelope.ts';

/** Issue 12: businesses as users — their key, their API, secret rotation, the calls list, the lifecycle. */

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether `req` verifies under `secret` with the standardwebhooks package (the business's side). */
function verifies(secret: string, req: RecordedRequest): boolean {
  try {
    new Webhook(secret).verify(req.body, {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    });
    return true;
  } catch {
    return false;
  }
}

/** A port nothing listens on: an upstream started and closed. */
async function deadUrl(): Promise<string> {
  const gone = await startUpstream();
  await gone.close();
  return gone.url;
}

describe.each(DIALECTS)('the business API on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let other: Tenant;
  let first: Upstream;
  let second: Upstream;
  let shop: { id: string; signingSecret: string; businessKey: string };
  let rival: { id: string; signingSecret: string; businessKey: string };

  const execute = (t: Tenant, businessId: string, request: Record<string, unknown> = { sku: 'a' }) =>
    call(gw, 'POST', '/agp/execute', { key: t.agentKey, body: { businessId, request } });

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw, { name: 'Home' });
    other = await createTenant(gw, { name: 'Other' });
    first = await startUpstream();
    second = await startUpstream();
    shop = await registerHttpBusiness(gw, first.url, 'shop');
    rival = await registerHttpBusiness(gw, first.url, 'rival');
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
    await first.close();
    await second.close();
  });

  it('POST /v1/admin/businesses answers a prefixed business key, stored only as its hash', async () => {
    const res = await call(gw, 'POST', '/v1/admin/businesses', {
      key: ADMIN_TOKEN,
      body: { id: 'fresh', name: 'Fresh', category: 'retail', adapter: { type: 'echo' } },
    });
    expect(res.status).toBe(201);
    const key = res.body.businessKey as string;
    expect(key).toMatch(/^wb_[A-Za-z0-9_-]{43}$/);
    const stored = await gw.db.reader.all(
      sql('SELECT key_hash FROM businesses WHERE id = ?', (r) => r[0] as string),
      ['fresh'],
    );
    expect(stored[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(key);
    const own = await call(gw, 'GET', '/v1/business', { key });
    expect(own.status).toBe(200);
    expect(own.body).toEqual({
      business: { id: 'fresh', name: 'Fresh', category: 'retail', description: '', status: 'live' },
      adapter: { type: 'echo' },
    });
  });

  it('a business key reads and changes its own business only', async () => {
    const patched = await call(gw, 'PATCH', '/v1/business', {
      key: shop.businessKey,
      body: { name: 'The Shop', description: 'Things' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.business).toMatchObject({ id: 'shop', name: 'The Shop', description: 'Things' });
    // The rival is untouched, and reads its own.
    const theirs = await call(gw, 'GET', '/v1/business', { key: rival.businessKey });
    expect(theirs.body.business).toMatchObject({ id: 'rival', name: 'Shop rival', description: '' });
    // No body or path names a business: there is nothing to point at another one with.
    expectError(
      await call(gw, 'PATCH', '/v1/business', { key: shop.businessKey, body: { id: 'rival', name: 'x' } }),
      400,
      'VALIDATION_ERROR',
    );
    expectError(
      await call(gw, 'PATCH', '/v1/business', { key: shop.businessKey, body: {} }),
      400,
      'VALIDATION_ERROR',
    );
    // The directory shows the new name.
    const listed = await call(gw, 'GET', '/agp/businesses', { key: tenant.agentKey });
    expect(
      (listed.body.businesses as { id: string; name: string }[]).find((b) => b.id === 'shop')?.name,
    ).toBe('The Shop');
  });

  it('agent keys, member tokens and the operator token are refused on every business route (401)', async () => {
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/business'],
      ['PATCH', '/v1/business', { name: 'x' }],
      ['PUT', '/v1/business/adapter', { type: 'http', baseUrl: second.url }],
      ['POST', '/v1/business/adapter/test'],
      ['POST', '/v1/business/signing-secret/rotate'],
      ['GET', '/v1/business/calls'],
    ];
    for (const [method, path, body] of routes) {
      for (const key of [
        tenant.agentKey,
        tenant.adminToken,
        ADMIN_TOKEN,
        `${shop.businessKey}x`,
        undefined,
      ]) {
        expectError(await call(gw, method, path, { key, body }), 401, 'UNAUTHORIZED');
      }
    }
  });

  it('a business key is refused on agent, member and operator routes (401)', async () => {
    const key = shop.businessKey;
    expectError(await call(gw, 'GET', '/agp/businesses', { key }), 401, 'UNAUTHORIZED');
    expectError(await execute({ ...tenant, agentKey: key }, 'shop'), 401, 'UNAUTHORIZED');
    expectError(await call(gw, 'GET', '/v1/keys', { key }), 401, 'UNAUTHORIZED');
    expectError(await call(gw, 'GET', '/v1/transactions', { key }), 401, 'UNAUTHORIZED');
    expectError(await call(gw, 'GET', '/v1/admin/businesses', { key }), 401, 'UNAUTHORIZED');
    expectError(
      await call(gw, 'POST', `/v1/admin/businesses/${shop.id}/status`, { key, body: { status: 'live' } }),
      401,
      'UNAUTHORIZED',
    );
  });

  it('a changed baseUrl takes effect on the next execute', async () => {
    const before = await execute(tenant, 'shop');
    expect(before.status).toBe(200);
    const firstCount = first.requests.length;
    const put = await call(gw, 'PUT', '/v1/business/adapter', {
      key: shop.businessKey,
      body: { type: 'http', baseUrl: second.url, timeoutMs: 5_000 },
    });
    expect(put.status).toBe(200);
    expect(put.body.adapter).toEqual({ type: 'http', baseUrl: second.url, timeoutMs: 5_000 });
    const after = await execute(tenant, 'shop');
    expect(after.status).toBe(200);
    expect(first.requests.length).toBe(firstCount);
    expect(second.requests.at(-1)?.url).toBe('/agp/execute');
    // The rival still goes to the first upstream.
    expect((await execute(tenant, 'rival')).status).toBe(200);
    expect(first.requests.length).toBe(firstCount + 1);
  });

  it('PUT /v1/business/adapter validates the config', async () => {
    const key = shop.businessKey;
    for (const body of [
      { type: 'echo' },
      { type: 'http', baseUrl: 'ftp://example.test' },
      { type: 'http', baseUrl: second.url, extra: 1 },
      { type: 'http', baseUrl: second.url, timeoutMs: 10 },
      // Above ADAPTER_TIMEOUT_MS (30 s by default).
      { type: 'http', baseUrl: second.url, timeoutMs: 60_000 },
      { type: 'http', baseUrl: second.url, operations: { execute: { method: 'POST', path: 'no-slash' } } },
    ]) {
      expectError(await call(gw, 'PUT', '/v1/business/adapter', { key, body }), 400, 'VALIDATION_ERROR');
    }
  });

  it('POST /v1/business/adapter/test: ok for a live upstream, {ok:false, error} for a dead port', async () => {
    const seen = second.requests.length;
    const ok = await call(gw, 'POST', '/v1/business/adapter/test', { key: shop.businessKey });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, status: 'succeeded' });
    expect(typeof ok.body.latencyMs).toBe('number');
    const sent = second.requests.at(-1);
    expect(second.requests.length).toBe(seen + 1);
    expect(sent?.url).toBe('/agp/discover');
    expect(sent && verifies(shop.signingSecret, sent)).toBe(true);

    const dead = await deadUrl();
    const put = await call(gw, 'PUT', '/v1/business/adapter', {
      key: rival.businessKey,
      body: { type: 'http', baseUrl: dead },
    });
    expect(put.status).toBe(200);
    const down = await call(gw, 'POST', '/v1/business/adapter/test', { key: rival.businessKey });
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ ok: false, status: null, error: { code: 'ADAPTER_ERROR' } });
    // Nothing of either test is in the ledger.
    const calls = await call(gw, 'GET', '/v1/business/calls', { key: rival.businessKey });
    expect((calls.body.calls as { operation: string }[]).some((c) => c.operation === 'discover')).toBe(false);
    await call(gw, 'PUT', '/v1/business/adapter', {
      key: rival.businessKey,
      body: { type: 'http', baseUrl: first.url },
    });
  });

  it('after a rotation requests verify under the new and the old secret until previousValidUntil, then only the new', async () => {
    const rotated = await call(gw, 'POST', '/v1/business/signing-secret/rotate', { key: shop.businessKey });
    expect(rotated.status).toBe(201);
    const fresh = rotated.body.signingSecret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(Date.parse(rotated.body.previousValidUntil as string)).toBe(gw.now.value + DAY_MS);

    expect((await execute(tenant, 'shop')).status).toBe(200);
    const during = second.requests.at(-1) as RecordedRequest;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(fresh, during)).toBe(true);
    expect(verifies(shop.signingSecret, during)).toBe(true);

    // Sealed at rest, like the current secret.
    const [row] = await gw.db.reader.all(
      sql('SELECT signing_secret, previous_signing_secret FROM businesses WHERE id = ?', (r) => r),
      ['shop'],
    );
    expect(JSON.stringify(row)).not.toContain(fresh.slice(6));
    expect(JSON.stringify(row)).not.toContain(shop.signingSecret.slice(6));

    gw.now.advance(DAY_MS);
    expect((await execute(tenant, 'shop')).status).toBe(200);
    const after = second.requests.at(-1) as RecordedRequest;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(fresh, after)).toBe(true);
    expect(verifies(shop.signingSecret, after)).toBe(false);
    shop.signingSecret = fresh;
  });

  it("GET /v1/business/calls lists this business's calls only, newest first, paged and filtered", async () => {
    await execute(other, 'shop', { sku: 'other' });
    const all = await call(gw, 'GET', '/v1/business/calls?limit=200', { key: shop.businessKey });
    expect(all.status).toBe(200);
    type Call = { transactionId: string; operation: string; status: string; workspaceId: string };
    const calls = all.body.calls as Call[];
    expect(calls.length).toBeGreaterThanOrEqual(5);
    expect(all.body.nextCursor).toBeNull();
    const ids = calls.map((c) => c.transactionId);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(calls[0]).toMatchObject({
      workspaceId: other.workspaceId,
      operation: 'execute',
      status: 'succeeded',
    });
    expect(new Set(calls.map((c) => c.workspaceId))).toEqual(
      new Set([tenant.workspaceId, other.workspaceId]),
    );
    // None of the rival's: its own list has its own ids.
    const theirs = await call(gw, 'GET', '/v1/business/calls', { key: rival.businessKey });
    const theirIds = new Set((theirs.body.calls as Call[]).map((c) => c.transactionId));
    expect(theirIds.size).toBeGreaterThan(0);
    expect(ids.filter((id) => theirIds.has(id))).toEqual([]);

    // Pages of two, to the end.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(gw, 'GET', `/v1/business/calls?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        key: shop.businessKey,
      });
      expect(res.status).toBe(200);
      paged.push(...(res.body.calls as Call[]).map((c) => c.transactionId));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    expect(paged).toEqual(ids);

    const failed = await call(gw, 'GET', '/v1/business/calls?status=failed', { key: shop.businessKey });
    expect(failed.body.calls).toEqual([]);
    const future = new Date(gw.now.value + 1000).toISOString();
    const none = await call(gw, 'GET', `/v1/business/calls?from=${encodeURIComponent(future)}`, {
      key: shop.businessKey,
    });
    expect(none.body.calls).toEqual([]);
    expectError(
      await call(gw, 'GET', '/v1/business/calls?status=nope', { key: shop.businessKey }),
      400,
      'VALIDATION_ERROR',
    );
  });

  describe('the lifecycle', () => {
    let biz: { id: string; signingSecret: string; businessKey: string };
    let upstream: Upstream;
    const setStatus = (status: string, sandboxWorkspaces?: string[]) =>
      call(gw, 'POST', `/v1/admin/businesses/${biz.id}/status`, {
        key: ADMIN_TOKEN,
        body: { status, ...(sandboxWorkspaces ? { sandboxWorkspaces } : {}) },
      });
    const directory = async (t: Tenant) =>
      (
        (await call(gw, 'GET', '/agp/businesses', { key: t.agentKey })).body.businesses as { id: string }[]
      ).map((b) => b.id);

    beforeAll(async () => {
      upstream = await startUpstream();
      biz = await registerHttpBusiness(gw, upstream.url, 'cycle');
    });
    afterAll(async () => {
      await upstream.close();
    });

    it('a sandbox business is callable by its listed workspace only and is absent from the directory', async () => {
      const res = await setStatus('sandbox', [tenant.workspaceId]);
      expect(res.status).toBe(200);
      expect(res.body.business).toMatchObject({ status: 'sandbox', sandboxWorkspaces: [tenant.workspaceId] });
      expect((await execute(tenant, biz.id)).status).toBe(200);
      expect(
        (await call(gw, 'POST', '/agp/discover', { key: tenant.agentKey, body: { businessId: biz.id } }))
          .status,
      ).toBe(200);
      const seen = upstream.requests.length;
      // Refused for others exactly as an unknown id is: its existence does not leak.
      const refused = await execute(other, biz.id);
      const unknown = await execute(other, 'no-such-business');
      expectError(refused, 400, 'BUSINESS_NOT_FOUND');
      expect(refused.body.error).toBe(`No business with id ${biz.id}.`);
      expect(unknown.body.error).toBe('No business with id no-such-business.');
      for (const path of ['/agp/discover', '/agp/query', '/agp/execute/prepare']) {
        expectError(
          await call(gw, 'POST', path, { key: other.agentKey, body: { businessId: biz.id, request: {} } }),
          400,
          'BUSINESS_NOT_FOUND',
        );
      }
      expect(upstream.requests.length).toBe(seen);
      expect(await directory(tenant)).not.toContain(biz.id);
      expect(await directory(other)).not.toContain(biz.id);
      // The operator sees it, with its status and list.
      const listed = await call(gw, 'GET', '/v1/admin/businesses', { key: ADMIN_TOKEN });
      expect((listed.body.businesses as { id: string }[]).find((b) => b.id === biz.id)).toMatchObject({
        status: 'sandbox',
        sandboxWorkspaces: [tenant.workspaceId],
      });
    });

    it('sandboxWorkspaces must name real workspaces, and stays when only the status is given', async () => {
      expectError(await setStatus('sandbox', ['ws_nope']), 400, 'VALIDATION_ERROR');
      expectError(
        await call(gw, 'POST', '/v1/admin/businesses/nope/status', {
          key: ADMIN_TOKEN,
          body: { status: 'live' },
        }),
        404,
        'NOT_FOUND',
      );
      expectError(await setStatus('paused'), 400, 'VALIDATION_ERROR');
      const kept = await setStatus('sandbox');
      expect(kept.body.business).toMatchObject({ sandboxWorkspaces: [tenant.workspaceId] });
    });

    it('suspended: every AGP call is 403 BUSINESS_SUSPENDED and nothing reaches the upstream', async () => {
      expect((await setStatus('suspended')).status).toBe(200);
      const seen = upstream.requests.length;
      for (const t of [tenant, other]) {
        expectError(await execute(t, biz.id), 403, 'BUSINESS_SUSPENDED');
        for (const path of ['/agp/discover', '/agp/query', '/agp/execute/prepare']) {
          expectError(
            await call(gw, 'POST', path, { key: t.agentKey, body: { businessId: biz.id, request: {} } }),
            403,
            'BUSINESS_SUSPENDED',
          );
        }
      }
      expect(upstream.requests.length).toBe(seen);
      expect(await directory(tenant)).not.toContain(biz.id);
      // Its own key still works: it can fix its adapter while suspended.
      expect((await call(gw, 'GET', '/v1/business', { key: biz.businessKey })).body.business).toMatchObject({
        status: 'suspended',
      });
    });

    it('archived: BUSINESS_NOT_FOUND, its key refused, its history kept; live again brings it back', async () => {
      expect((await setStatus('archived')).status).toBe(200);
      expectError(await execute(tenant, biz.id), 400, 'BUSINESS_NOT_FOUND');
      expectError(await call(gw, 'GET', '/v1/business', { key: biz.businessKey }), 401, 'UNAUTHORIZED');
      const history = await call(gw, 'GET', `/v1/transactions?businessId=${biz.id}`, {
        key: tenant.adminToken,
      });
      expect((history.body.transactions as unknown[]).length).toBeGreaterThan(0);
      expect(await directory(tenant)).not.toContain(biz.id);

      expect((await setStatus('live')).status).toBe(200);
      expect((await execute(other, biz.id)).status).toBe(200);
      expect(await directory(other)).toContain(biz.id);
    });
  });

  describe('the operator rotates and revokes a business key', () => {
    it('a rotated key replaces the old one at once; a revoked key is refused; revoking twice is 404', async () => {
      const old = rival.businessKey;
      const rotated = await call(gw, 'POST', `/v1/admin/businesses/${rival.id}/key/rotate`, {
        key: ADMIN_TOKEN,
      });
      expect(rotated.status).toBe(201);
      const fresh = rotated.body.businessKey as string;
      expect(fresh).toMatch(/^wb_/);
      expectError(await call(gw, 'GET', '/v1/business', { key: old }), 401, 'UNAUTHORIZED');
      expect((await call(gw, 'GET', '/v1/business', { key: fresh })).status).toBe(200);

      const revoked = await call(gw, 'DELETE', `/v1/admin/businesses/${rival.id}/key`, { key: ADMIN_TOKEN });
      expect(revoked.status).toBe(204);
      expectError(await call(gw, 'GET', '/v1/business', { key: fresh }), 401, 'UNAUTHORIZED');
      expectError(
        await call(gw, 'DELETE', `/v1/admin/businesses/${rival.id}/key`, { key: ADMIN_TOKEN }),
        404,
        'NOT_FOUND',
      );
      expectError(
        await call(gw, 'POST', '/v1/admin/businesses/nope/key/rotate', { key: ADMIN_TOKEN }),
        404,
        'NOT_FOUND',
      );
      // Revoking the key leaves the business callable by agents.
      expect((await execute(tenant, rival.id)).status).toBe(200);
    });
  });

  it('every change is audited on the operator chain, and every chain still verifies', async () => {
    const actions = await gw.db.reader.all(
      sql(
        'SELECT action, actor_type, target FROM audit_events WHERE workspace_id IS NULL ORDER BY seq',
        (r) => `${r[0]} ${r[1]} ${r[2]}`,
      ),
    );
    for (const expected of [
      'business.updated business shop',
      'business.adapter_changed business shop',
      'business.signing_secret_rotated business shop',
      'business.status_changed operator cycle',
      'business.key_rotated operator rival',
      'business.key_revoked operator rival',
    ]) {
      expect(actions).toContain(expected);
    }
    const verdicts = await verifyAllChains(gw.db.reader);
    expect(verdicts.length).toBeGreaterThan(0);
    for (const { verdict } of verdicts) expect(verdict.valid).toBe(true);
  });
});

describe('the business API with private egress refused', () => {
  let gw: TestGateway;
  let key = '';
  beforeAll(async () => {
    gw = await startTestGateway({
      env: { EGRESS_ALLOW_PRIVATE: 'false', SIGNING_SECRET_OVERLAP_SECONDS: '60' },
    });
    ({ businessKey: key } = await registerHttpBusiness(gw, 'https://shop.example.com', 'public-shop'));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('PUT /v1/business/adapter refuses a private or metadata address (400) and keeps the old config', async () => {
    for (const baseUrl of ['http://127.0.0.1:8080', 'http://169.254.169.254/latest', 'http://10.0.0.1']) {
      expectError(
        await call(gw, 'PUT', '/v1/business/adapter', { key, body: { type: 'http', baseUrl } }),
        400,
        'VALIDATION_ERROR',
      );
    }
    const own = await call(gw, 'GET', '/v1/business', { key });
    expect(own.body.adapter).toEqual({ type: 'http', baseUrl: 'https://shop.example.com' });
  });

  it('SIGNING_SECRET_OVERLAP_SECONDS sets previousValidUntil', async () => {
    const rotated = await call(gw, 'POST', '/v1/business/signing-secret/rotate', { key });
    expect(Date.parse(rotated.body.previousValidUntil as string)).toBe(gw.now.value + 60_000);
  });
});

describe('warden secrets reseal and a rotated-out signing secret', () => {
  it('reseals the previous signing secret too, and it still signs', async () => {
    const OLD = 'old-secrets-key-0123456789abcdef-0123456789';
    const NEW = 'new-secrets-key-0123456789abcdef-0123456789';
    const upstream = await startUpstream();
    const first = await startTestGateway({ env: { SECRETS_KEY: OLD } });
    const shop = await registerHttpBusiness(first, upstream.url, 'resealed');
    const rotated = await call(first, 'POST', '/v1/business/signing-secret/rotate', {
      key: shop.businessKey,
    });
    const fresh = rotated.body.signingSecret as string;
    const second = await startTestGateway({
      db: first.db,
      env: { SECRETS_KEY: NEW, SECRETS_KEY_PREVIOUS: OLD },
    });
    try {
      const counts = await resealSecrets(second.deps);
      expect(counts.businesses).toBe(2);
      const [row] = await second.db.reader.all(
        sql(
          'SELECT signing_secret, previous_signing_secret FROM businesses WHERE id = ?',
          (r) => r as string[],
        ),
        ['resealed'],
      );
      const onlyNew = createSealer(NEW);
      expect(onlyNew.open(row?.[0] as string)).toBe(fresh);
      expect(onlyNew.open(row?.[1] as string)).toBe(shop.signingSecret);
      // The gateway on the new key alone still signs with both.
      const third = await startTestGateway({ db: first.db, env: { SECRETS_KEY: NEW } });
      try {
        const tenant = await createTenant(third);
        const res = await call(third, 'POST', '/agp/execute', {
          key: tenant.agentKey,
          body: { businessId: 'resealed', request: {} },
        });
        expect(res.status).toBe(200);
        const sent = upstream.requests.at(-1) as RecordedRequest;
        expect(verifies(fresh, sent) && verifies(shop.signingSecret, sent)).toBe(true);
      } finally {
        await third.dispose();
      }
    } finally {
      await second.dispose();
      await first.dispose();
      await upstream.close();
    }
  });
});
