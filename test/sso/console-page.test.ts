import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { form, memberToken, open, page, signIn } from '../console/support.ts';
import { call, createTenant, startTestGateway, type Tenant, type TestGateway } from '../support/harness.ts';
import { type Idp, startIdp } from './idp.ts';
import { CALLBACK, configureSso } from './support.ts';

/**
 * The console's Single sign-on page (issue 22): admins only; a form that does not parse, or that
 * the verb refuses (a domain of another workspace), comes back with what was typed and the reason;
 * the secret is kept when left empty; turning it off frees the domains.
 */
describe('the console’s single sign-on page', () => {
  let gw: TestGateway;
  let acme: Tenant;
  let other: Tenant;
  let idp: Idp;
  let cookie: string;

  const fields = (extra: Record<string, string> = {}) => ({
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    domains: 'acme.test, labs.acme.test',
    scopes: 'openid email profile groups',
    roleClaim: 'groups',
    mappings: 'warden-admins = admin\nengineering = developer',
    defaultRole: '',
    jit: 'on',
    ...extra,
  });
  const save = async (extra: Record<string, string> = {}) => {
    const { csrf } = await open(gw, '/console/sso', cookie);
    return form(gw, '/console/sso/save', { csrf, ...fields(extra) }, { cookie });
  };

  beforeAll(async () => {
    gw = await startTestGateway({ realClock: true, env: { PUBLIC_BASE_URL: 'http://gateway.test' } });
    acme = await createTenant(gw, { name: 'Acme' });
    other = await createTenant(gw, { name: 'Other' });
    idp = await startIdp({ redirectUris: [CALLBACK] });
    cookie = await signIn(gw, acme.adminToken);
  });
  afterAll(async () => {
    await gw?.dispose();
    await idp?.close();
  });

  it('shows the redirect URI to register, and saves the settings', async () => {
    const { html } = await open(gw, '/console/sso', cookie);
    expect(html).toContain(`<code id="sso-redirect-uri">${CALLBACK}</code>`);
    const saved = await save();
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/console/sso?done=saved');
    const sso = (await call(gw, 'GET', '/v1/sso', { key: acme.adminToken })).body.sso;
    expect(sso).toMatchObject({
      domains: ['acme.test', 'labs.acme.test'],
      scopes: ['openid', 'email', 'profile', 'groups'],
      roleMappings: [
        { group: 'warden-admins', role: 'admin' },
        { group: 'engineering', role: 'developer' },
      ],
      defaultRole: null,
      jit: true,
      required: false,
    });
    // Saved again with the secret left empty: kept.
    expect((await save({ clientSecret: '', defaultRole: 'approver' })).status).toBe(303);
    const after = await open(gw, '/console/sso', cookie);
    expect(after.html).toContain('Stored; leave empty to keep it');
    expect(after.html).not.toContain(idp.clientSecret);
  });

  it('a form that does not parse, or a domain of another workspace, comes back with what was typed', async () => {
    const bad = await save({ mappings: 'warden-admins = owner' });
    expect(bad.status).toBe(422);
    const html = await bad.text();
    expect(html).toContain('Not saved: check roleMappings');
    expect(html).toContain('warden-admins = owner');
    await configureSso(gw, other, idp, { domains: ['taken.test'] });
    const taken = await save({ domains: 'acme.test, taken.test' });
    expect(taken.status).toBe(409);
    const text = await taken.text();
    expect(text).toContain('taken.test already signs in with another workspace');
    expect(text).toContain('value="acme.test, taken.test"');
    expect((await call(gw, 'GET', '/v1/sso', { key: acme.adminToken })).body.sso).toMatchObject({
      domains: ['acme.test', 'labs.acme.test'],
    });
  });

  it('is for admins: a developer gets the 403 page and cannot post', async () => {
    const devCookie = await signIn(gw, await memberToken(gw, acme, 'dev@acme.test', 'developer'));
    expect((await page(gw, '/console/sso', devCookie)).status).toBe(403);
    const { csrf } = await open(gw, '/console', devCookie);
    expect((await form(gw, '/console/sso/remove', { csrf }, { cookie: devCookie })).status).toBe(403);
    expect((await call(gw, 'GET', '/v1/sso', { key: acme.adminToken })).body.sso).not.toBeNull();
  });

  it('turns it off', async () => {
    const { csrf } = await open(gw, '/console/sso', cookie);
    const removed = await form(gw, '/console/sso/remove', { csrf }, { cookie });
    expect(removed.status).toBe(303);
    expect((await call(gw, 'GET', '/v1/sso', { key: acme.adminToken })).body.sso).toBeNull();
    expect((await open(gw, '/console/sso?done=removed', cookie)).html).toContain('Single sign-on is off.');
  });
});
