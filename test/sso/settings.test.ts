import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSealer } from '../../gateway/crypto/sealing.ts';
import { sql } from '../../gateway/db/types.ts';
import { resealSecrets } from '../../gateway/services/platform/index.ts';
import { expectError } from '../api/envelope.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  startTestGateway,
  TEST_SECRETS_KEY,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { type Idp, startIdp } from './idp.ts';
import { CALLBACK } from './support.ts';

/**
 * `/v1/sso` (issue 22): a workspace's single sign-on settings. The issuer is checked by its discovery
 * document, the client secret sealed at rest and never answered, a domain routes to one workspace
 * (a race for one leaves exactly one owner), every change audited.
 */
describe.each(DIALECTS)('single sign-on settings on %s', (dialect) => {
  let gw: TestGateway;
  let acme: Tenant;
  let other: Tenant;
  let idp: Idp;
  const settings = (extra: Record<string, unknown> = {}) => ({
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    domains: ['acme.test', 'Acme-Labs.test'],
    roleMappings: [{ group: 'warden-admins', role: 'admin' }],
    defaultRole: 'approver',
    jit: true,
    ...extra,
  });
  const put = (tenant: Tenant, body: unknown) => call(gw, 'PUT', '/v1/sso', { key: tenant.adminToken, body });
  const get = async (tenant: Tenant) =>
    (await call(gw, 'GET', '/v1/sso', { key: tenant.adminToken })).body.sso as Record<string, unknown> | null;
  const storedSecret = async (workspaceId: string) =>
    gw.db.reader.get(
      sql('SELECT client_secret FROM sso_configs WHERE workspace_id = ?', (r) => String(r[0])),
      [workspaceId],
    );

  beforeAll(async () => {
    gw = await startTestGateway({
      dialect,
      realClock: true,
      env: { PUBLIC_BASE_URL: 'http://gateway.test' },
    });
    acme = await createTenant(gw, { name: 'Acme' });
    other = await createTenant(gw, { name: 'Other' });
    idp = await startIdp({ redirectUris: [CALLBACK] });
  });
  afterAll(async () => {
    await gw?.dispose();
    await idp?.close();
  });

  it('refuses settings it cannot use, and stores nothing', async () => {
    const noSecret = await put(acme, { ...settings(), clientSecret: undefined });
    expectError(noSecret, 400, 'VALIDATION_ERROR');
    expect(JSON.stringify(noSecret.body.details)).toContain('clientSecret');
    const unreachable = await put(acme, settings({ issuer: 'http://127.0.0.1:1' }));
    expectError(unreachable, 400, 'VALIDATION_ERROR');
    expect(unreachable.body.error).toContain('discovery document could not be read');
    // The discovery document must name the issuer it was read from (OpenID Connect Discovery §4.3).
    const wrongIssuer = await put(acme, settings({ issuer: `${idp.issuer}/elsewhere` }));
    expectError(wrongIssuer, 400, 'VALIDATION_ERROR');
    expectError(await put(acme, settings({ scopes: ['email'] })), 400, 'VALIDATION_ERROR');
    expectError(await put(acme, settings({ domains: ['not a domain'] })), 400, 'VALIDATION_ERROR');
    expectError(await put(acme, settings({ domains: [] })), 400, 'VALIDATION_ERROR');
    expectError(await put(acme, settings({ issuer: 'ftp://idp.test' })), 400, 'VALIDATION_ERROR');
    expectError(
      await put(acme, settings({ roleMappings: [{ group: 'x', role: 'owner' }] })),
      400,
      'VALIDATION_ERROR',
    );
    expect(await get(acme)).toBeNull();
  });

  it('stores the settings with the client secret sealed, never answers the secret, and audits the change', async () => {
    const res = await put(acme, settings());
    expect(res.status).toBe(200);
    expect(res.body.sso).toEqual({
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecretSet: true,
      domains: ['acme-labs.test', 'acme.test'],
      scopes: ['openid', 'email', 'profile'],
      roleClaim: 'groups',
      roleMappings: [{ group: 'warden-admins', role: 'admin' }],
      defaultRole: 'approver',
      jit: true,
      required: false,
      redirectUri: CALLBACK,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await get(acme)).toEqual(res.body.sso);
    const sealed = await storedSecret(acme.workspaceId);
    expect(sealed).toMatch(/^enc:v1:/);
    expect(sealed).not.toContain(idp.clientSecret);
    expect(JSON.stringify(res.body)).not.toContain(idp.clientSecret);

    // Changed without a secret: the stored one is kept as it was.
    const changed = await put(acme, { ...settings({ required: true }), clientSecret: undefined });
    expect(changed.status).toBe(200);
    expect((changed.body.sso as { required: boolean }).required).toBe(true);
    expect(await storedSecret(acme.workspaceId)).toBe(sealed);

    const audit = await call(gw, 'GET', '/v1/audit?action=sso.*', { key: acme.adminToken });
    const events = audit.body.events as { action: string; data: Record<string, unknown> }[];
    expect(events.map((e) => e.action)).toEqual(['sso.changed', 'sso.configured']);
    expect(events[1]?.data).toMatchObject({ issuer: idp.issuer, secretChanged: true, jit: true });
    expect(events[0]?.data).toMatchObject({ secretChanged: false, required: true });
    expect(JSON.stringify(events)).not.toContain(idp.clientSecret);

    // `warden secrets reseal` moves it to a new SECRETS_KEY like the other sealed secrets.
    const next = createSealer('another-secrets-key-0123456789abcdef-0123', [TEST_SECRETS_KEY]);
    expect((await resealSecrets({ db: gw.db, sealer: next })).ssoSecrets).toBe(1);
    const resealed = await storedSecret(acme.workspaceId);
    expect(resealed).not.toBe(sealed);
    expect(next.open(resealed ?? '')).toBe(idp.clientSecret);
    await gw.db.transaction({}, (tx) =>
      tx.run(sql('UPDATE sso_configs SET client_secret = ? WHERE workspace_id = ?'), [
        sealed,
        acme.workspaceId,
      ]),
    );
  });

  it('routes a domain to one workspace: another is refused with 409 and keeps nothing', async () => {
    const taken = await put(other, settings({ domains: ['other.test', 'acme.test'] }));
    expectError(taken, 409, 'CONFLICT');
    expect(taken.body.error).toContain('acme.test');
    expect(await get(other)).toBeNull();
    // Two workspaces claiming one free domain at the same moment: exactly one gets it.
    const [a, b] = await Promise.all([
      createTenant(gw, { name: 'Racer A' }),
      createTenant(gw, { name: 'Racer B' }),
    ]);
    const answers = await Promise.all([
      put(a, settings({ domains: ['race.test'] })),
      put(b, settings({ domains: ['race.test'] })),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const owners = await gw.db.reader.all(
      sql("SELECT workspace_id FROM sso_domains WHERE domain = 'race.test'", (r) => String(r[0])),
    );
    expect(owners).toHaveLength(1);
  });

  it('turning it off frees the domains', async () => {
    const removed = await call(gw, 'DELETE', '/v1/sso', { key: acme.adminToken });
    expect(removed.status).toBe(204);
    expect(await get(acme)).toBeNull();
    expectError(await call(gw, 'DELETE', '/v1/sso', { key: acme.adminToken }), 404, 'NOT_FOUND');
    expect((await put(other, settings({ domains: ['acme.test'] }))).status).toBe(200);
    const audit = await call(gw, 'GET', '/v1/audit?action=sso.removed', { key: acme.adminToken });
    expect(audit.body.events).toHaveLength(1);
  });

  it('is for admins only', async () => {
    const dev = await call(gw, 'POST', '/v1/members', {
      key: acme.adminToken,
      body: { email: 'dev@acme.test', role: 'developer' },
    });
    const token = dev.body.token as string;
    expectError(await call(gw, 'GET', '/v1/sso', { key: token }), 403, 'FORBIDDEN');
    expectError(await call(gw, 'PUT', '/v1/sso', { key: token, body: settings() }), 403, 'FORBIDDEN');
  });
});

describe('single sign-on settings in production', () => {
  let gw: TestGateway;
  let tenant: Tenant;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { SSO_ALLOW_HTTP: 'false', EGRESS_ALLOW_PRIVATE: 'false' } });
    tenant = await createTenant(gw);
  });
  afterAll(() => gw?.dispose());

  it('refuses an http issuer, and one on a private or metadata address', async () => {
    const body = (issuer: string) => ({ issuer, clientId: 'c', clientSecret: 's', domains: ['acme.test'] });
    const http = await call(gw, 'PUT', '/v1/sso', {
      key: tenant.adminToken,
      body: body('http://idp.acme.test'),
    });
    expectError(http, 400, 'VALIDATION_ERROR');
    expect(http.body.error).toContain('https');
    for (const issuer of ['https://127.0.0.1:8443', 'https://169.254.169.254', 'https://localhost']) {
      const res = await call(gw, 'PUT', '/v1/sso', { key: tenant.adminToken, body: body(issuer) });
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error).toContain('not allowed');
    }
  });
});
