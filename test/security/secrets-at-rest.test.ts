import { Writable } from 'node:stream';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSealer } from '../../gateway/crypto/sealing.ts';
import { type Db, sql } from '../../gateway/db/types.ts';
import { createLogger } from '../../gateway/logger.ts';
import { insertWebhook, resealWebhookSecret } from '../../gateway/repositories/outbox.ts';
import { listSigningKeys } from '../../gateway/repositories/signing-keys.ts';
import { insertBusiness, resealBusinessSecret } from '../../gateway/repositories/tenancy.ts';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import { resealSecrets } from '../../gateway/services/platform/secrets.ts';
import { headerRecord, type Receiver, startReceiver } from '../e2e/support.ts';
import { DIALECTS, type Dialect, freshDatabase, type TestDatabase } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type TestGatewayOptions,
  type Upstream,
} from '../support/harness.ts';

// Issue 10: business signing secrets, webhook secrets and the receipt signing key are sealed at rest
// under SECRETS_KEY (AES-256-GCM), rotate through SECRETS_KEY_PREVIOUS, and move with resealSecrets.
const OLD_KEY = 'old-secrets-key-for-the-at-rest-tests-0123456789';
const NEW_KEY = 'new-secrets-key-for-the-at-rest-tests-9876543210';
const LOST_KEY = 'a-key-nobody-configured-any-more-0123456789abcdef';
const oldKid = createSealer(OLD_KEY).kid ?? '';
const newKid = createSealer(NEW_KEY).kid ?? '';
const lostKid = createSealer(LOST_KEY).kid ?? '';

/** Every row of every table, as text: what someone with a copy of the database would see. */
async function dumpDatabase(db: Db): Promise<string> {
  const tables = await db.reader.all(
    db.dialect === 'sqlite'
      ? sql("SELECT name FROM sqlite_master WHERE type = 'table'", (r) => String(r[0]))
      : sql('SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()', (r) =>
          String(r[0]),
        ),
  );
  expect(tables).toEqual(expect.arrayContaining(['businesses', 'webhooks', 'signing_keys']));
  const rows: unknown[] = [];
  for (const table of tables) rows.push(...(await db.reader.all(sql(`SELECT * FROM "${table}"`))));
  return JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
}

const storedBusinessSecret = async (db: Db, id: string) =>
  String(
    await db.reader.get(
      sql('SELECT signing_secret FROM businesses WHERE id = ?', (r) => r[0]),
      [id],
    ),
  );
const storedWebhookSecret = async (db: Db, id: string) =>
  String(
    await db.reader.get(
      sql('SELECT secret FROM webhooks WHERE id = ?', (r) => r[0]),
      [id],
    ),
  );

/** The text of a secret that must never be stored: the whole of it, and its key material alone. */
const clearForms = (secret: string) => [secret, secret.replace(/^whsec_/, '')];

describe.each(DIALECTS)('secrets at rest on %s (issue 10)', (dialect: Dialect) => {
  let database: TestDatabase;
  let upstream: Upstream;
  let receiver: Receiver;
  const running = new Set<TestGateway>();
  let tenant: Tenant;
  let business: { id: string; signingSecret: string };
  let hook: { id: string; secret: string };
  let callbackSecret: string;

  const start = async (env: TestGatewayOptions['env'], options: Partial<TestGatewayOptions> = {}) => {
    const gw = await startTestGateway({ databaseUrl: database.url, ...options, env });
    running.add(gw);
    return gw;
  };
  const stop = async (gw: TestGateway) => {
    running.delete(gw);
    await gw.dispose();
  };

  /** An execute through `gw`: the business must receive it signed with the clear signing secret. */
  const executeSigned = async (gw: TestGateway, sku: string) => {
    const before = upstream.requests.length;
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: business.id, request: { sku, amount_cents: 10 } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(upstream.requests).toHaveLength(before + 1);
    const forwarded = upstream.requests.at(-1);
    if (!forwarded) throw new Error('the business was not called');
    const headers = forwarded.headers as Record<string, string>;
    expect(new Webhook(business.signingSecret).verify(forwarded.body, headers)).toMatchObject({
      businessId: business.id,
      request: { sku },
      transactionId: res.body.transactionId,
    });
    // Not a signature anything verifies: another secret fails.
    expect(() =>
      new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(forwarded.body, headers),
    ).toThrow();
    return String(res.body.transactionId);
  };

  /** Delivers what `gw`'s outbox holds: the receiver must get the event signed with the clear webhook secret. */
  const deliveredSigned = async (gw: TestGateway, transactionId: string) => {
    const before = receiver.received.length;
    expect((await deliverDue(gw.deps, gw.notify.senders)).delivered).toBeGreaterThanOrEqual(1);
    const got = receiver.received.slice(before);
    const events = got.map((r) => new Webhook(hook.secret).verify(r.body, headerRecord(r.headers)));
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'transaction.completed',
        data: expect.objectContaining({ transactionId }),
      }),
    );
  };

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    upstream = await startUpstream();
    receiver = await startReceiver([200]);
    const gw = await start({ SECRETS_KEY: OLD_KEY });
    tenant = await createTenant(gw);
    business = await registerHttpBusiness(gw, upstream.url, 'sealed-shop');
    const res = await call(gw, 'POST', '/v1/webhooks', {
      key: tenant.adminToken,
      body: { url: receiver.url, events: ['transaction.completed'] },
    });
    expect(res.status).toBe(201);
    hook = { id: String(res.body.id), secret: String(res.body.secret) };
    const callback = await call(gw, 'POST', '/v1/webhooks/callback-secret', { key: tenant.adminToken });
    expect(callback.status).toBeLessThan(300);
    callbackSecret = String(callback.body.secret);
    await stop(gw);
  });
  afterAll(async () => {
    await Promise.all([...running].map((gw) => gw.dispose()));
    await upstream?.close();
    await receiver?.close();
    await database?.drop();
  });

  it('the secrets are answered once in clear; the database holds them only sealed', async () => {
    expect(business.signingSecret).toMatch(/^whsec_/);
    expect(hook.secret).toMatch(/^whsec_/);
    const gw = await start({ SECRETS_KEY: OLD_KEY });
    try {
      expect(await storedBusinessSecret(gw.db, business.id)).toMatch(new RegExp(`^enc:v1:${oldKid}:`));
      expect(await storedWebhookSecret(gw.db, hook.id)).toMatch(new RegExp(`^enc:v1:${oldKid}:`));
      const keys = await listSigningKeys(gw.db.reader);
      expect(keys.length).toBeGreaterThanOrEqual(1);
      const dump = await dumpDatabase(gw.db);
      const secrets = [business.signingSecret, hook.secret, callbackSecret];
      expect(callbackSecret).toMatch(/^whsec_/);
      for (const clear of secrets.flatMap(clearForms)) expect(dump).not.toContain(clear);
      expect(
        await gw.db.reader.get(
          sql('SELECT callback_secret FROM workspaces WHERE id = ?', (r) => String(r[0])),
          [tenant.workspaceId],
        ),
      ).toMatch(new RegExp(`^enc:v1:${oldKid}:`));
      for (const key of keys) {
        expect(key.privateKey).toMatch(new RegExp(`^enc:v1:${oldKid}:`));
        expect(dump).not.toContain(createSealer(OLD_KEY).open(key.privateKey));
      }
      // The lists never carry a secret, sealed or clear.
      const lists = JSON.stringify([
        (await call(gw, 'GET', '/v1/webhooks', { key: tenant.adminToken })).body,
        (await call(gw, 'GET', '/agp/businesses', { key: tenant.agentKey })).body,
        (await call(gw, 'GET', '/v1/admin/businesses', { key: ADMIN_TOKEN })).body,
      ]);
      expect(lists).toContain(hook.id);
      expect(lists).toContain(business.id);
      expect(lists).not.toMatch(/whsec_|enc:v1:|"(secret|signingSecret)"/);
    } finally {
      await stop(gw);
    }
  });

  it('a forwarded execute and a webhook delivery are still signed with the clear secrets', async () => {
    const gw = await start({ SECRETS_KEY: OLD_KEY });
    try {
      await deliveredSigned(gw, await executeSigned(gw, 'first'));
    } finally {
      await stop(gw);
    }
  });

  it('with only a new SECRETS_KEY the gateway refuses to start, naming the key it lacks and no secret', async () => {
    const error = await startTestGateway({ databaseUrl: database.url, env: { SECRETS_KEY: NEW_KEY } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(oldKid);
    expect(message).toContain('SECRETS_KEY_PREVIOUS');
    for (const secret of [OLD_KEY, NEW_KEY, business.signingSecret, hook.secret]) {
      expect(message).not.toContain(secret);
    }
  });

  it('a new SECRETS_KEY with the old one in SECRETS_KEY_PREVIOUS still opens everything', async () => {
    const gw = await start({ SECRETS_KEY: NEW_KEY, SECRETS_KEY_PREVIOUS: OLD_KEY });
    try {
      await deliveredSigned(gw, await executeSigned(gw, 'rotating'));
      // What it writes now is sealed under the new key.
      const fresh = await registerHttpBusiness(gw, upstream.url, 'new-shop');
      expect(await storedBusinessSecret(gw.db, fresh.id)).toMatch(new RegExp(`^enc:v1:${newKid}:`));
      expect(await storedBusinessSecret(gw.db, business.id)).toMatch(new RegExp(`^enc:v1:${oldKid}:`));
    } finally {
      await stop(gw);
    }
  });

  it('resealSecrets moves every stale secret to the new key; then the old key is not needed', async () => {
    const gw = await start({ SECRETS_KEY: NEW_KEY, SECRETS_KEY_PREVIOUS: OLD_KEY });
    try {
      const before = await dumpDatabase(gw.db);
      expect(before).toContain(`enc:v1:${oldKid}:`);
      // Each row is replaced only if it still holds what was read: a secret changed meanwhile stays.
      const stored = await storedBusinessSecret(gw.db, business.id);
      const storedHook = await storedWebhookSecret(gw.db, hook.id);
      expect(
        await gw.db.transaction({}, async (tx) => [
          await resealBusinessSecret(tx, business.id, `${stored}-changed`, 'overwritten'),
          await resealWebhookSecret(tx, hook.id, `${storedHook}-changed`, 'overwritten'),
        ]),
      ).toEqual([false, false]);
      expect(await dumpDatabase(gw.db)).toBe(before);
      // The business registered under the new key (new-shop) is already current: not counted.
      expect(await resealSecrets(gw.deps)).toEqual({
        businesses: 1,
        webhooks: 1,
        signingKeys: 1,
        callbackSecrets: 1,
        ssoSecrets: 0,
      });
      const after = await dumpDatabase(gw.db);
      expect(after).not.toContain(`enc:v1:${oldKid}:`);
      expect(after).toContain(`enc:v1:${newKid}:`);
      for (const clear of [business.signingSecret, hook.secret, callbackSecret].flatMap(clearForms)) {
        expect(after).not.toContain(clear);
      }
      // Nothing is left to move: a second run changes nothing.
      expect(await resealSecrets(gw.deps)).toEqual({
        businesses: 0,
        webhooks: 0,
        signingKeys: 0,
        callbackSecrets: 0,
        ssoSecrets: 0,
      });
      expect(await dumpDatabase(gw.db)).toBe(after);
    } finally {
      await stop(gw);
    }
    const only = await start({ SECRETS_KEY: NEW_KEY });
    try {
      await deliveredSigned(only, await executeSigned(only, 'after-reseal'));
    } finally {
      await stop(only);
    }
  });

  it('a secret sealed under a key nobody configured fails clearly: its key id, never a secret', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'error',
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const gw = await start({ SECRETS_KEY: NEW_KEY }, { logger });
    try {
      const lost = createSealer(LOST_KEY);
      const lostSecret = 'whsec_bG9zdC1zZWNyZXQtbG9zdC1zZWNyZXQtMTIz';
      await gw.db.transaction({}, (tx) =>
        insertBusiness(tx, {
          id: 'lost-shop',
          name: 'Lost shop',
          category: 'retail',
          description: '',
          adapter: { type: 'http', baseUrl: upstream.url },
          signingSecret: lost.seal(lostSecret),
          createdAt: gw.now.value,
          status: 'live' as const,
          sandboxWorkspaces: [],
          previousSigningSecret: null,
          previousSecretUntil: null,
        }),
      );
      const called = upstream.requests.length;
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: 'lost-shop', request: { sku: 'x', amount_cents: 10 } },
      });
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ code: 'INTERNAL_ERROR' });
      expect(JSON.stringify(res.body)).not.toContain(lostKid);
      expect(upstream.requests).toHaveLength(called);
      const logged = lines.join('\n');
      expect(logged).toContain(`sealed under key ${lostKid}`);
      expect(logged).not.toContain(lostSecret);
      expect(logged).not.toContain(NEW_KEY);

      // A webhook whose secret no key opens: its delivery is retried, and says why.
      await gw.db.transaction({}, (tx) =>
        insertWebhook(tx, {
          id: 'wh_lost',
          workspaceId: tenant.workspaceId,
          url: receiver.url,
          events: ['transaction.completed'],
          secret: lost.seal(lostSecret),
          createdAt: gw.now.value,
          deletedAt: null,
        }),
      );
      gw.deps.subscriptions.forget(tenant.workspaceId);
      const received = receiver.received.length;
      await executeSigned(gw, 'with-a-lost-hook');
      const round = await deliverDue(gw.deps, gw.notify.senders);
      expect(round).toMatchObject({ delivered: 1, retrying: 1 });
      // The good subscription got its event; nothing was sent signed with a key that could not be opened.
      expect(receiver.received).toHaveLength(received + 1);
      const listed = await call(gw, 'GET', '/v1/webhooks/wh_lost/deliveries', { key: tenant.adminToken });
      const [delivery] = (listed.body as { deliveries: { status: string; lastError: string }[] }).deliveries;
      expect(delivery?.status).toBe('pending');
      expect(delivery?.lastError).toContain(`sealed under key ${lostKid}`);
      expect(delivery?.lastError).not.toContain(lostSecret);
      // A reseal cannot move what it cannot open: it stops, names the key, and writes nothing.
      const before = await dumpDatabase(gw.db);
      await expect(resealSecrets(gw.deps)).rejects.toThrow(lostKid);
      expect(await dumpDatabase(gw.db)).toBe(before);
    } finally {
      await stop(gw);
    }
  });
});

describe.each(DIALECTS)('without SECRETS_KEY in development on %s', (dialect: Dialect) => {
  let database: TestDatabase;
  let upstream: Upstream;
  let receiver: Receiver;
  const running: TestGateway[] = [];

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    upstream = await startUpstream();
    receiver = await startReceiver([200]);
  });
  afterAll(async () => {
    await Promise.all(running.map((gw) => gw.dispose()));
    await upstream?.close();
    await receiver?.close();
    await database?.drop();
  });

  it('stores the secrets plain, signs with them, and a later SECRETS_KEY seals them with resealSecrets', async () => {
    // An empty value is unset (the harness sets SECRETS_KEY for every other test).
    const gw = await startTestGateway({
      databaseUrl: database.url,
      env: { NODE_ENV: 'development', SECRETS_KEY: '' },
    });
    running.push(gw);
    expect(gw.deps.sealer.encrypting).toBe(false);
    const tenant = await createTenant(gw);
    const business = await registerHttpBusiness(gw, upstream.url, 'plain-shop');
    const created = await call(gw, 'POST', '/v1/webhooks', {
      key: tenant.adminToken,
      body: { url: receiver.url, events: ['transaction.completed'] },
    });
    expect(created.status).toBe(201);
    const hookId = String(created.body.id);
    const hookSecret = String(created.body.secret);
    expect(await storedBusinessSecret(gw.db, business.id)).toBe(business.signingSecret);
    expect(await storedWebhookSecret(gw.db, hookId)).toBe(hookSecret);

    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: business.id, request: { sku: 'plain', amount_cents: 10 } },
    });
    expect(res.status).toBe(200);
    const forwarded = upstream.requests.at(-1);
    if (!forwarded) throw new Error('the business was not called');
    expect(
      new Webhook(business.signingSecret).verify(forwarded.body, forwarded.headers as Record<string, string>),
    ).toMatchObject({ transactionId: res.body.transactionId });
    await deliverDue(gw.deps, gw.notify.senders);
    const got = receiver.received.at(-1);
    if (!got) throw new Error('the webhook was not delivered');
    expect(new Webhook(hookSecret).verify(got.body, headerRecord(got.headers))).toMatchObject({
      type: 'transaction.completed',
    });
    await expect(resealSecrets(gw.deps)).rejects.toThrow('SECRETS_KEY is not set');

    // Production later: the plain values still open, and a reseal seals every one of them.
    const sealed = await startTestGateway({ databaseUrl: database.url, env: { SECRETS_KEY: NEW_KEY } });
    running.push(sealed);
    expect(await resealSecrets(sealed.deps)).toEqual({
      businesses: 1,
      webhooks: 1,
      signingKeys: 1,
      callbackSecrets: 0,
      ssoSecrets: 0,
    });
    const dump = await dumpDatabase(sealed.db);
    for (const clear of [...clearForms(business.signingSecret), ...clearForms(hookSecret)]) {
      expect(dump).not.toContain(clear);
    }
    expect(await storedBusinessSecret(sealed.db, business.id)).toMatch(new RegExp(`^enc:v1:${newKid}:`));
    const again = await call(sealed, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: business.id, request: { sku: 'sealed-now', amount_cents: 10 } },
    });
    expect(again.status).toBe(200);
    const signed = upstream.requests.at(-1);
    if (!signed) throw new Error('the business was not called');
    expect(
      new Webhook(business.signingSecret).verify(signed.body, signed.headers as Record<string, string>),
    ).toMatchObject({ transactionId: again.body.transactionId });
  });
});
