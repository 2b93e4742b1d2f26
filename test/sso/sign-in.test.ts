import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import { requestSignInLinks } from '../../gateway/services/console/index.ts';
import { sweepOnce } from '../../gateway/services/housekeeping/index.ts';
import { form, page, signIn, signInLinks } from '../console/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import { call, createTenant, startTestGateway, type Tenant, type TestGateway } from '../support/harness.ts';
import { type Idp, startIdp } from './idp.ts';
import {
  atIdp,
  CALLBACK,
  callback,
  configureSso,
  idpUrlOf,
  newBrowser,
  sessionCookieOf,
  ssoSignIn,
  startSso,
  written,
} from './support.ts';

/**
 * Console single sign-on (issue 22) against two real OpenID providers (oidc-provider on port 0),
 * one per workspace: routing by email domain, the role from the group claim, just-in-time
 * membership on and off, "require SSO", a key rotation at the IdP, and every bad answer refused with
 * a readable page that writes nothing (no member, no session, no audit event).
 */
/** Acme's settings: its groups come with the `groups` scope; admins and developers by group, JIT on. */
const ACME = {
  domains: ['acme.test'],
  scopes: ['openid', 'email', 'profile', 'groups'],
  roleMappings: [
    { group: 'warden-admins', role: 'admin' },
    { group: 'engineering', role: 'developer' },
  ],
  jit: true,
};

describe.each(DIALECTS)('console single sign-on on %s', (dialect) => {
  let gw: TestGateway;
  let acme: Tenant;
  let globex: Tenant;
  let acmeIdp: Idp;
  let globexIdp: Idp;

  const members = async (tenant: Tenant) => {
    const res = await call(gw, 'GET', '/v1/members', { key: tenant.adminToken });
    return res.body.members as { id: string; email: string; role: string }[];
  };
  const roleOf = async (tenant: Tenant, email: string) =>
    (await members(tenant)).find((m) => m.email === email)?.role;
  const audit = async (tenant: Tenant, action: string) => {
    const res = await call(gw, 'GET', `/v1/audit?action=${action}`, { key: tenant.adminToken });
    return (res.body.events as { action: string; data: Record<string, unknown> }[]).filter(
      (e) => e.action === action,
    );
  };

  beforeAll(async () => {
    gw = await startTestGateway({
      dialect,
      realClock: true,
      env: { PUBLIC_BASE_URL: 'http://gateway.test' },
    });
    acme = await createTenant(gw, { name: 'Acme' });
    globex = await createTenant(gw, { name: 'Globex' });
    acmeIdp = await startIdp({
      redirectUris: [CALLBACK],
      accounts: {
        ada: { email: 'ada@acme.test', groups: ['warden-admins', 'engineering'] },
        dev: { email: 'Dev@Acme.test', groups: ['engineering'] },
        sales: { email: 'sal@acme.test', groups: ['sales'] },
        eve: { email: 'eve@elsewhere.test', groups: ['engineering'] },
        unverified: { email: 'una@acme.test', groups: ['engineering'], emailVerified: false },
      },
    });
    globexIdp = await startIdp({
      redirectUris: [CALLBACK],
      clientId: 'warden-globex',
      accounts: { bob: { email: 'bob@globex.test', groups: 'approvers' as unknown as string[] } },
    });
    await configureSso(gw, acme, acmeIdp, ACME);
    await configureSso(gw, globex, globexIdp, {
      domains: ['globex.test'],
      scopes: ['openid', 'email', 'groups'],
      roleMappings: [{ group: 'approvers', role: 'approver' }],
      jit: false,
    });
  });
  afterAll(async () => {
    await gw?.dispose();
    await acmeIdp?.close();
    await globexIdp?.close();
  });

  it('routes each email domain to its workspace’s IdP and gives the role of the first mapped group (JIT)', async () => {
    const before = await written(gw);
    const { res } = await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'ada');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const cookie = sessionCookieOf(res);
    expect(cookie).toBeDefined();
    const home = await page(gw, '/console', cookie);
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('ada@acme.test');
    expect(html).toContain('Acme');
    expect(await roleOf(acme, 'ada@acme.test')).toBe('admin');
    // A new member, a session and their audit events; the IdP subject is in the sign-in's.
    expect(await written(gw)).toEqual({
      members: before.members + 1,
      audit_events: before.audit_events + 2,
      console_sessions: before.console_sessions + 1,
    });
    const [signedIn] = await audit(acme, 'console.signed_in');
    expect(signedIn?.data).toEqual({ via: 'sso', issuer: acmeIdp.issuer, subject: 'ada' });
    const [created] = await audit(acme, 'member.created');
    expect(created?.data).toMatchObject({ role: 'admin', via: 'sso', subject: 'ada' });

    // Another person of the same company: the engineering group makes a developer (email lower-cased).
    const dev = await ssoSignIn(gw, acmeIdp, 'dev@acme.test', 'dev');
    expect(dev.res.status).toBe(303);
    expect(await roleOf(acme, 'dev@acme.test')).toBe('developer');
    expect(await roleOf(globex, 'dev@acme.test')).toBeUndefined();

    // The other domain goes to the other workspace's IdP, with its own client.
    const start = await startSso(gw, await newBrowser(gw), 'bob@GLOBEX.test');
    expect(start.status).toBe(200);
    const to = new URL(await idpUrlOf(start));
    expect(to.origin).toBe(globexIdp.issuer);
    expect(to.searchParams.get('client_id')).toBe('warden-globex');
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('redirect_uri')).toBe(CALLBACK);
    expect(to.searchParams.get('scope')).toBe('openid email groups');
  });

  it('JIT off: someone who is not a member is refused and nothing is written; a member signs in, their role following the groups', async () => {
    const before = await written(gw);
    const { res } = await ssoSignIn(gw, globexIdp, 'bob@globex.test', 'bob');
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('bob@globex.test is not a member of this workspace');
    expect(sessionCookieOf(res)).toBeUndefined();
    expect(await written(gw)).toEqual(before);

    const added = await call(gw, 'POST', '/v1/members', {
      key: globex.adminToken,
      body: { email: 'bob@globex.test', role: 'developer' },
    });
    expect(added.status).toBe(201);
    const again = await ssoSignIn(gw, globexIdp, 'bob@globex.test', 'bob');
    expect(again.res.status).toBe(303);
    expect(sessionCookieOf(again.res)).toBeDefined();
    // A single string claim counts as one group: approvers → approver.
    expect(await roleOf(globex, 'bob@globex.test')).toBe('approver');
    const [changed] = await audit(globex, 'member.role_changed');
    expect(changed?.data).toMatchObject({ from: 'developer', to: 'approver', via: 'sso', subject: 'bob' });
  });

  it('requiring SSO refuses member tokens, emailed links and other sessions at the console, while the API still takes the token', async () => {
    const tokenSession = await signIn(gw, acme.adminToken);
    // A sign-in link emailed before SSO was required.
    const adminEmail = (await members(acme)).find((m) => m.role === 'admin')?.email ?? '';
    const mails: string[] = [];
    gw.deps.mailer.send = async (message) => {
      mails.push(message.text);
    };
    expect(await requestSignInLinks({ deps: gw.deps, email: adminEmail })).toBe(1);
    const [link] = signInLinks(mails.join('\n'));
    const linkPath = new URL(link ?? '').pathname;
    expect((await page(gw, '/console', tokenSession)).status).toBe(200);
    const sso = await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'ada');
    const ssoSession = sessionCookieOf(sso.res);
    await configureSso(gw, acme, acmeIdp, {
      clientSecret: undefined,
      domains: ['acme.test'],
      scopes: ['openid', 'email', 'profile', 'groups'],
      roleMappings: [
        { group: 'warden-admins', role: 'admin' },
        { group: 'engineering', role: 'developer' },
      ],
      jit: true,
      required: true,
    });
    try {
      const before = await written(gw);
      const refused = await form(gw, '/console/sign-in/token', { token: acme.adminToken });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('single sign-on only');
      expect(refused.headers.get('set-cookie') ?? '').not.toContain('warden_console=wcs_');
      expect(await written(gw)).toEqual(before);
      // The session opened with the token ends; the one opened by SSO goes on.
      const ended = await page(gw, '/console', tokenSession);
      expect(ended.status).toBe(303);
      expect(ended.headers.get('location')).toMatch(/^\/console\/sign-in\?/);
      expect((await page(gw, '/console', ssoSession)).status).toBe(200);
      // No link is emailed for this workspace any more, and the one sent before is refused.
      expect(await requestSignInLinks({ deps: gw.deps, email: adminEmail })).toBe(0);
      expect(mails).toHaveLength(1);
      const linkPage = await page(gw, linkPath);
      expect(linkPage.status).toBe(403);
      expect(await linkPage.text()).toContain('requires single sign-on');
      const used = await form(gw, linkPath, {});
      expect(used.status).toBe(403);
      expect(used.headers.get('set-cookie') ?? '').not.toContain('warden_console=wcs_');
      // The API: the same token works.
      expect((await call(gw, 'GET', '/v1/members', { key: acme.adminToken })).status).toBe(200);
      // Another workspace is not affected.
      expect((await form(gw, '/console/sign-in/token', { token: globex.adminToken })).status).toBe(303);
    } finally {
      await configureSso(gw, acme, acmeIdp, {
        ...ACME,
        clientSecret: undefined,
        required: false,
      });
    }
    expect((await form(gw, '/console/sign-in/token', { token: acme.adminToken })).status).toBe(303);
  });

  it('never demotes the last admin: the groups say developer, the only admin stays admin', async () => {
    const initech = await createTenant(gw, { name: 'Initech' });
    const boss = await call(gw, 'POST', '/v1/members', {
      key: initech.adminToken,
      body: { email: 'boss@initech.test', role: 'admin' },
    });
    const first = (await members(initech)).find((m) => m.email !== 'boss@initech.test');
    expect((await call(gw, 'DELETE', `/v1/members/${first?.id}`, { key: initech.adminToken })).status).toBe(
      204,
    );
    const asBoss = { ...initech, adminToken: boss.body.token as string };
    acmeIdp.accounts.set('boss', { email: 'boss@initech.test', groups: ['engineering'] });
    await configureSso(gw, asBoss, acmeIdp, { ...ACME, domains: ['initech.test'] });
    const { res } = await ssoSignIn(gw, acmeIdp, 'boss@initech.test', 'boss');
    expect(res.status).toBe(303);
    expect(await roleOf(asBoss, 'boss@initech.test')).toBe('admin');
    expect(await audit(asBoss, 'member.role_changed')).toEqual([]);
  });

  it('follows a key rotation at the IdP: the next sign-in verifies the ID token signed with the new key', async () => {
    const first = await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'ada');
    expect(first.res.status).toBe(303);
    const oldKid = acmeIdp.issuedKids.at(-1);
    const fetches = acmeIdp.jwksFetches;
    await acmeIdp.rotate();
    const second = await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'ada');
    expect(second.res.status).toBe(303);
    expect(sessionCookieOf(second.res)).toBeDefined();
    const newKid = acmeIdp.issuedKids.at(-1);
    expect(newKid).not.toBe(oldKid);
    expect(acmeIdp.jwksFetches).toBeGreaterThan(fetches);
  });

  describe('bad answers: a readable page, never a 500, nothing written', () => {
    const refusedWith = async (res: Response, status: number, text: string) => {
      expect(res.status).toBe(status);
      const html = await res.text();
      expect(html).toContain(text);
      expect(html).toContain('href="/console/sign-in"');
      expect(sessionCookieOf(res)).toBeUndefined();
    };

    it('an unknown state, and a state started in another browser', async () => {
      const before = await written(gw);
      const b = await newBrowser(gw);
      await refusedWith(await callback(gw, b, `${CALLBACK}?code=abc&state=forged-state`), 400, 'start again');
      await refusedWith(await callback(gw, b, `${CALLBACK}?code=abc`), 400, 'start again');
      // The victim's browser finishing an attacker's sign-in (login CSRF): its cookie is not the one.
      const attacker = await newBrowser(gw);
      const start = await startSso(gw, attacker, 'ada@acme.test');
      const url = await atIdp(acmeIdp, await idpUrlOf(start), 'ada');
      await refusedWith(await callback(gw, await newBrowser(gw), url), 400, 'another browser');
      expect(await written(gw)).toEqual(before);
    });

    it('a replayed callback, and a used code under a new state', async () => {
      const done = await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'ada');
      expect(done.res.status).toBe(303);
      const before = await written(gw);
      await refusedWith(await callback(gw, done.browser, done.url), 400, 'finished already');
      // The code taken to a fresh sign-in of the same browser: the IdP refuses it (used, other PKCE).
      const fresh = await startSso(gw, done.browser, 'ada@acme.test');
      const state = new URL(await idpUrlOf(fresh)).searchParams.get('state') ?? '';
      const replay = new URL(done.url);
      replay.searchParams.set('state', state);
      await refusedWith(
        await callback(gw, done.browser, replay.href),
        401,
        'refused the sign-in (invalid_grant)',
      );
      expect(await written(gw)).toEqual(before);
    });

    it.each([
      ['a wrong issuer', (c: Record<string, unknown>) => ({ ...c, iss: 'https://evil.test' })],
      ['a wrong audience', (c: Record<string, unknown>) => ({ ...c, aud: 'someone-else' })],
      [
        'an expired ID token',
        (c: Record<string, unknown>) => ({
          ...c,
          iat: Math.floor(Date.now() / 1000) - 7200,
          exp: Math.floor(Date.now() / 1000) - 3600,
        }),
      ],
      ['another nonce', (c: Record<string, unknown>) => ({ ...c, nonce: 'not-the-one' })],
    ])('%s in the ID token', async (_name, tamper) => {
      const before = await written(gw);
      acmeIdp.tamper = tamper;
      try {
        const { res } = await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'ada');
        await refusedWith(res, 401, 'did not pass the checks');
      } finally {
        acmeIdp.tamper = undefined;
      }
      expect(await written(gw)).toEqual(before);
    });

    it('an ID token signed with a key the IdP does not publish', async () => {
      const before = await written(gw);
      acmeIdp.forge = true;
      try {
        const { res } = await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'ada');
        await refusedWith(res, 401, 'did not pass the checks');
      } finally {
        acmeIdp.forge = false;
      }
      expect(await written(gw)).toEqual(before);
    });

    it('an authorization response naming another issuer (RFC 9207), and the IdP’s own error', async () => {
      const before = await written(gw);
      const b = await newBrowser(gw);
      const start = await startSso(gw, b, 'ada@acme.test');
      const url = new URL(await atIdp(acmeIdp, await idpUrlOf(start), 'ada'));
      expect(url.searchParams.get('iss')).toBe(acmeIdp.issuer);
      url.searchParams.set('iss', globexIdp.issuer);
      await refusedWith(await callback(gw, b, url.href), 401, 'did not pass the checks');
      const cancelled = await startSso(gw, b, 'ada@acme.test');
      const state = new URL(await idpUrlOf(cancelled)).searchParams.get('state') ?? '';
      const denied = `${CALLBACK}?error=access_denied&state=${state}&iss=${encodeURIComponent(acmeIdp.issuer)}`;
      await refusedWith(await callback(gw, b, denied), 401, 'did not sign you in (access_denied');
      expect(await written(gw)).toEqual(before);
    });

    it('an email domain the workspace does not list, an unverified email, and no mapped group', async () => {
      const before = await written(gw);
      await refusedWith(
        (await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'eve')).res,
        403,
        'eve@elsewhere.test is not an address',
      );
      await refusedWith(
        (await ssoSignIn(gw, acmeIdp, 'ada@acme.test', 'unverified')).res,
        403,
        'verified email',
      );
      await refusedWith((await ssoSignIn(gw, acmeIdp, 'sal@acme.test', 'sales')).res, 403, 'no group');
      expect(await written(gw)).toEqual(before);
    });

    it('a sign-in finished after ten minutes', async () => {
      const b = await newBrowser(gw);
      const start = await startSso(gw, b, 'ada@acme.test');
      const url = await atIdp(acmeIdp, await idpUrlOf(start), 'ada');
      const state = new URL(url).searchParams.get('state') ?? '';
      // The gateway runs on the real clock here: the sign-in is made ten minutes old in the database.
      await gw.db.transaction({}, (tx) =>
        tx.run(sql('UPDATE sso_sign_ins SET expires_at = ? WHERE state_hash = ?'), [
          Date.now() - 1,
          hashSecret(state),
        ]),
      );
      const before = await written(gw);
      await refusedWith(await callback(gw, b, url), 400, 'longer than ten minutes');
      expect(await written(gw)).toEqual(before);
      // The sweeper removes sign-ins an hour after they could no longer finish.
      const rows = sql('SELECT count(*) FROM sso_sign_ins WHERE state_hash = ?', (r) => Number(r[0]));
      await sweepOnce(gw.deps);
      expect(await gw.db.reader.get(rows, [hashSecret(state)])).toBe(1);
      await gw.db.transaction({}, (tx) =>
        tx.run(sql('UPDATE sso_sign_ins SET expires_at = ? WHERE state_hash = ?'), [
          Date.now() - 61 * 60_000,
          hashSecret(state),
        ]),
      );
      await sweepOnce(gw.deps);
      expect(await gw.db.reader.get(rows, [hashSecret(state)])).toBe(0);
    });

    it('an identity provider that stops answering before the code is exchanged', async () => {
      const gone = await startIdp({ redirectUris: [CALLBACK], accounts: { x: { email: 'x@gone.test' } } });
      const tenant = await createTenant(gw, { name: 'Gone' });
      await configureSso(gw, tenant, gone, { domains: ['gone.test'], defaultRole: 'approver', jit: true });
      const b = await newBrowser(gw);
      const url = await atIdp(gone, await idpUrlOf(await startSso(gw, b, 'x@gone.test')), 'x');
      await gone.close();
      const before = await written(gw);
      await refusedWith(await callback(gw, b, url), 502, 'could not be reached');
      expect(await written(gw)).toEqual(before);
    });

    it('a domain no workspace signs in with', async () => {
      const res = await startSso(gw, await newBrowser(gw), 'someone@nowhere.test');
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('No workspace signs in with single sign-on for nowhere.test');
    });
  });
});
