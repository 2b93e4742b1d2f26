import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePage } from '../../gateway/console/page.ts';
import { PAGES } from '../../gateway/console/pages/index.ts';
import { sql } from '../../gateway/db/types.ts';
import { sweepOnce } from '../../gateway/jobs/sweeper.ts';
import { declaredRoutes } from '../../gateway/routes/openapi/index.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import { type SmtpCapture, startSmtp } from '../e2e/support.ts';
import { call, createTenant, startTestGateway, type Tenant, type TestGateway } from '../support/harness.ts';
import { cookieOf, form, memberToken, open, page, preSession, signIn, signInLinks } from './support.ts';

/**
 * Console sessions (issue 14): sign-in by token and by emailed link, the cookie, idle and absolute
 * expiry on the manual clock, sign-out and sign-out-everywhere, CSRF, CSP, role-aware navigation,
 * fingerprinted assets.
 */

// A page for admins only, registered before the gateway starts: the framework's role check and the
// navigation are tested on it without depending on any product page.
PAGES.push(
  definePage({
    path: '/console/test-admin-only',
    summary: 'A page for admins (test only)',
    nav: { label: 'Admin test page', order: 99 },
    roles: ['admin'],
    async get(p) {
      return p.render({ title: 'Admin test page', body: 'Admins only' });
    },
  }),
);

const MINUTE = 60_000;

let gw: TestGateway;
let smtp: SmtpCapture;
let tenant: Tenant;
let approverToken: string;

beforeAll(async () => {
  smtp = await startSmtp();
  gw = await startTestGateway({ env: { SMTP_URL: smtp.url } });
  tenant = await createTenant(gw, { name: 'Acme' });
  approverToken = await memberToken(gw, tenant, 'ann@acme.test', 'approver');
});
afterAll(async () => {
  await gw?.dispose();
  await smtp?.close();
});

const sessionRows = () =>
  gw.db.reader.all(sql('SELECT token_hash, member_id, last_seen_at, expires_at FROM console_sessions'));

describe('sign-in with a member token', () => {
  it('sends a visitor without a session to sign in, keeping where they were going', async () => {
    const res = await page(gw, '/console?tab=history');
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') ?? '', 'http://x');
    expect(location.pathname).toBe('/console/sign-in');
    expect(location.searchParams.get('next')).toBe('/console?tab=history');
  });

  it('sets an HttpOnly, SameSite=Lax cookie on /console and stores only its hash', async () => {
    const res = await form(gw, '/console/sign-in/token', { token: approverToken, next: '/console' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const set = res.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/(^|, )warden_console=wcs_[A-Za-z0-9_-]{43};/);
    // The pre-session cookie of the sign-in form is dropped once signed in.
    expect(set).toMatch(/warden_console_pre=;/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Lax/);
    expect(set).toMatch(/; Path=\/console/);
    // Test over plain http: no Secure, or the browser would drop it.
    expect(set).not.toMatch(/Secure/);
    const cookie = cookieOf(res) ?? '';
    const rows = await sessionRows();
    expect(rows.map((r) => r[0])).toContain(hashSecret(cookie));
    expect(rows.flat()).not.toContain(cookie);
    const home = await page(gw, '/console', cookie);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('ann@acme.test');
  });

  it('marks the cookie Secure over https', async () => {
    const res = await form(
      gw,
      '/console/sign-in/token',
      { token: approverToken },
      { base: 'https://gateway.test', origin: 'https://gateway.test' },
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('marks the cookie Secure in production, even over http', async () => {
    const prod = await startTestGateway({ env: { NODE_ENV: 'production' } });
    try {
      const acme = await createTenant(prod);
      const res = await form(prod, '/console/sign-in/token', { token: acme.adminToken });
      expect(res.status).toBe(303);
      expect(res.headers.get('set-cookie')).toMatch(/warden_console=wcs_[^,]*; Secure/);
    } finally {
      await prod.dispose();
    }
  });

  it('refuses a wrong token with the page again (401) and no cookie', async () => {
    for (const token of ['wm_nope', `wm_${'a'.repeat(43)}`, tenant.agentKey, '']) {
      const res = await form(gw, '/console/sign-in/token', { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toContain('That token is not valid');
    }
  });

  it('refuses a sign-in form without the pre-session cookie and its CSRF field (login CSRF)', async () => {
    const pre = await preSession(gw);
    for (const options of [
      { pre: false as const },
      { pre: { cookie: pre.cookie, csrf: 'forged' } },
      { pre: { cookie: (await preSession(gw)).cookie, csrf: pre.csrf } },
    ]) {
      const res = await form(gw, '/console/sign-in/token', { token: approverToken }, options);
      expect(res.status).toBe(403);
      expect(res.headers.get('set-cookie') ?? '').not.toMatch(/warden_console=wcs_/);
      expect(await res.text()).toContain('This form has expired');
    }
    expect(
      (await form(gw, '/console/sign-in/email', { email: 'ann@acme.test' }, { pre: false })).status,
    ).toBe(403);
  });

  it('refuses a body that does not parse as its form type with a page, not a 500 (found by the fuzz test)', async () => {
    const pre = await preSession(gw);
    const res = await gw.app.request('/console/sign-in/email', {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=x', Cookie: pre.cookie },
      body: '\u0012\u000f\nnot multipart',
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('This form has expired');
  });

  it('refuses a sign-in form posted from another site', async () => {
    const res = await form(
      gw,
      '/console/sign-in/token',
      { token: approverToken },
      { origin: 'https://evil.test' },
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('goes back only to console paths after sign-in', async () => {
    for (const next of ['https://evil.test/', '//evil.test/console', '/v1/keys', '/console\\evil']) {
      const res = await form(gw, '/console/sign-in/token', { token: approverToken, next });
      expect(res.headers.get('location')).toBe('/console');
    }
    const res = await form(gw, '/console/sign-in/token', {
      token: approverToken,
      next: '/console/approvals?tab=history',
    });
    expect(res.headers.get('location')).toBe('/console/approvals?tab=history');
  });
});

describe('sign-in with an emailed link', () => {
  const request = (email: string) => form(gw, '/console/sign-in/email', { email });

  it('answers the same page whether or not the address is a member’s', async () => {
    const known = await request('ann@acme.test');
    const unknown = await request('nobody@acme.test');
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(await known.text()).toBe(await unknown.text());
    await smtp.next('ann@acme.test');
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.messages.some((m) => m.to.includes('nobody@acme.test'))).toBe(false);
  });

  it('signs in once per link: shown by GET, used by POST, then gone (410)', async () => {
    const after = smtp.messages.length;
    await request('Ann@Acme.test');
    const mail = await smtp.next('ann@acme.test', { after });
    expect(mail.subject).toBe('Sign in to Acme on Warden');
    const [link] = signInLinks(mail.text);
    const path = new URL(link ?? '').pathname;
    const rows = await gw.db.reader.all(sql('SELECT token_hash, used_at FROM console_sign_in_links'));
    const token = path.split('/').at(-1) ?? '';
    expect(rows.map((r) => r[0])).toContain(hashSecret(token));
    expect(rows.flat()).not.toContain(token);

    const shown = await page(gw, path);
    expect(shown.status).toBe(200);
    const html = await shown.text();
    expect(html).toContain('Sign in to Acme');
    expect(html).toContain('ann@acme.test');
    // Showing it used nothing (a mail scanner's GET).
    expect((await page(gw, path)).status).toBe(200);

    const used = await form(gw, path, {});
    expect(used.status).toBe(303);
    const cookie = cookieOf(used);
    expect(cookie).toBeTruthy();
    expect((await page(gw, '/console', cookie)).status).toBe(200);

    const again = await form(gw, path, {});
    expect(again.status).toBe(410);
    expect(again.headers.get('set-cookie')).toBeNull();
    expect((await page(gw, path)).status).toBe(410);
  });

  it('expires a link after 15 minutes', async () => {
    const after = smtp.messages.length;
    await request('ann@acme.test');
    const path = new URL(signInLinks((await smtp.next('ann@acme.test', { after })).text)[0] ?? '').pathname;
    gw.now.advance(15 * MINUTE);
    expect((await page(gw, path)).status).toBe(410);
    const res = await form(gw, path, {});
    expect(res.status).toBe(410);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('sends at most 5 sign-in emails per address in 10 minutes', async () => {
    gw.now.advance(10 * MINUTE - (gw.now.value % (10 * MINUTE)));
    const after = smtp.messages.length;
    for (let i = 0; i < 7; i++) expect((await request('ann@acme.test')).status).toBe(200);
    await smtp.next('ann@acme.test', { after: after + 4 });
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.messages.slice(after).filter((m) => m.to.includes('ann@acme.test'))).toHaveLength(5);
    gw.now.advance(10 * MINUTE);
  });

  it('refuses a link that was never issued (404)', async () => {
    expect((await page(gw, `/console/sign-in/link/wcl_${'x'.repeat(43)}`)).status).toBe(404);
    expect((await form(gw, `/console/sign-in/link/wcl_${'x'.repeat(43)}`, {})).status).toBe(404);
  });

  it('sends a member of several workspaces one link per workspace, each naming it', async () => {
    const second = await createTenant(gw, { name: 'Globex' });
    await memberToken(gw, second, 'ann@acme.test', 'developer');
    const after = smtp.messages.length;
    await request('ann@acme.test');
    const mail = await smtp.next('ann@acme.test', { after });
    const links = signInLinks(mail.text);
    expect(links).toHaveLength(2);
    expect(mail.text).toMatch(/Acme:\n\S+\/console\/sign-in\/link\//);
    expect(mail.text).toMatch(/Globex:\n\S+\/console\/sign-in\/link\//);
    const names = [];
    for (const link of links) {
      const path = new URL(link).pathname;
      const used = await form(gw, path, {});
      const home = await (await page(gw, '/console', cookieOf(used))).text();
      names.push(/<h1>([^<]+)<\/h1>/.exec(home)?.[1]);
    }
    expect(names.sort()).toEqual(['Acme', 'Globex']);
  });
});

describe('session expiry on the manual clock', () => {
  it('ends a session idle for CONSOLE_IDLE_MINUTES (30), and use keeps it alive', async () => {
    const cookie = await signIn(gw, approverToken);
    gw.now.advance(29 * MINUTE);
    expect((await page(gw, '/console', cookie)).status).toBe(200);
    gw.now.advance(29 * MINUTE);
    expect((await page(gw, '/console', cookie)).status).toBe(200);
    gw.now.advance(30 * MINUTE);
    const res = await page(gw, '/console', cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('notice=expired');
    // The dead cookie is cleared and its row deleted.
    expect(res.headers.get('set-cookie')).toMatch(/warden_console=;/);
    expect((await sessionRows()).map((r) => r[0])).not.toContain(hashSecret(cookie));
  });

  it('writes last_seen_at at most once a minute', async () => {
    const cookie = await signIn(gw, approverToken);
    const seen = async () => (await sessionRows()).find((r) => r[0] === hashSecret(cookie))?.[2];
    const first = await seen();
    gw.now.advance(30_000);
    await page(gw, '/console', cookie);
    expect(await seen()).toBe(first);
    gw.now.advance(31_000);
    await page(gw, '/console', cookie);
    expect(await seen()).toBe(gw.now.value);
  });

  it('ends a session CONSOLE_SESSION_HOURS (12) after sign-in, however busy', async () => {
    const cookie = await signIn(gw, approverToken);
    // 28 requests 25 minutes apart (700 minutes), then one past the 12 hours.
    for (let i = 0; i < 28; i++) {
      gw.now.advance(25 * MINUTE);
      expect((await page(gw, '/console', cookie)).status).toBe(200);
    }
    gw.now.advance(25 * MINUTE);
    expect((await page(gw, '/console', cookie)).status).toBe(303);
  });

  it('sweeps sessions that can no longer be resumed, and links an hour after they expired', async () => {
    const live = await signIn(gw, approverToken);
    gw.now.advance(20 * MINUTE);
    const idle = await signIn(gw, approverToken);
    gw.now.advance(20 * MINUTE);
    await page(gw, '/console', idle);
    // `live` has been idle for 40 minutes; `idle` was used 0 minutes ago.
    await sweepOnce(gw.deps);
    const hashes = (await sessionRows()).map((r) => r[0]);
    expect(hashes).not.toContain(hashSecret(live));
    expect(hashes).toContain(hashSecret(idle));
    gw.now.advance(2 * 60 * MINUTE);
    await sweepOnce(gw.deps);
    expect(await sessionRows()).toEqual([]);
    expect(await gw.db.reader.all(sql('SELECT token_hash FROM console_sign_in_links'))).toEqual([]);
  });

  it('ends the sessions of a removed member at once', async () => {
    const token = await memberToken(gw, tenant, 'temp@acme.test', 'developer');
    const cookie = await signIn(gw, token);
    const members = await gw.app.request('/v1/members', {
      headers: { Authorization: `Bearer ${tenant.adminToken}` },
    });
    const list = (await members.json()) as { members: { id: string; email: string }[] };
    const id = list.members.find((m) => m.email === 'temp@acme.test')?.id;
    await gw.app.request(`/v1/members/${id}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${tenant.adminToken}` },
    });
    expect((await page(gw, '/console', cookie)).status).toBe(303);
  });
});

describe('sign-out', () => {
  it('ends this session only', async () => {
    const one = await signIn(gw, approverToken);
    const two = await signIn(gw, approverToken);
    const { csrf } = await open(gw, '/console', one);
    const res = await form(gw, '/console/sign-out', { csrf }, { cookie: one });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/sign-in?notice=signed-out');
    expect(res.headers.get('set-cookie')).toMatch(/warden_console=;/);
    expect((await page(gw, '/console', one)).status).toBe(303);
    expect((await page(gw, '/console', two)).status).toBe(200);
  });

  it('everywhere: ends every session of the member, and only theirs', async () => {
    const one = await signIn(gw, approverToken);
    const two = await signIn(gw, approverToken);
    const admin = await signIn(gw, tenant.adminToken);
    const { csrf } = await open(gw, '/console', two);
    const res = await form(gw, '/console/sign-out-everywhere', { csrf }, { cookie: two });
    expect(res.status).toBe(303);
    expect((await page(gw, '/console', one)).status).toBe(303);
    expect((await page(gw, '/console', two)).status).toBe(303);
    expect((await page(gw, '/console', admin)).status).toBe(200);
  });
});

describe('the audit trail and token rotation', () => {
  const actions = async (action: string) => {
    const res = await call(gw, 'GET', `/v1/audit?action=${action}&limit=200`, { key: tenant.adminToken });
    return res.body.events as { actor: { id: string }; target: string; data: Record<string, unknown> }[];
  };

  it('sign-in, sign-out and sign-out-everywhere are audited as the member', async () => {
    const created = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'cy@acme.test', role: 'developer' },
    });
    const memberId = (created.body.member as { id: string }).id;
    const one = await signIn(gw, created.body.token as string);
    const two = await signIn(gw, created.body.token as string);
    await form(gw, '/console/sign-out', { csrf: (await open(gw, '/console', one)).csrf }, { cookie: one });
    await form(
      gw,
      '/console/sign-out-everywhere',
      { csrf: (await open(gw, '/console', two)).csrf },
      { cookie: two },
    );
    const mine = <T extends { actor: { id: string } }>(list: T[]) =>
      list.filter((e) => e.actor.id === memberId);
    expect(mine(await actions('console.signed_in'))).toHaveLength(2);
    expect(mine(await actions('console.signed_in'))[0]?.data).toEqual({ via: 'token' });
    expect(mine(await actions('console.signed_out'))).toHaveLength(1);
    expect(mine(await actions('console.signed_out_everywhere'))[0]?.data).toEqual({ sessions: 1 });
  });

  it('rotating a member token ends that member’s console sessions (a leaked token’s sessions with it)', async () => {
    const created = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'di@acme.test', role: 'developer' },
    });
    const memberId = (created.body.member as { id: string }).id;
    const cookie = await signIn(gw, created.body.token as string);
    const bystander = await signIn(gw, tenant.adminToken);
    expect((await page(gw, '/console', cookie)).status).toBe(200);
    const rotated = await call(gw, 'POST', `/v1/members/${memberId}/rotate-token`, {
      key: tenant.adminToken,
    });
    expect(rotated.status).toBe(200);
    expect((await page(gw, '/console', cookie)).status).toBe(303);
    expect((await page(gw, '/console', bystander)).status).toBe(200);
    const audited = (await actions('member.token_rotated')).find((e) => e.target === memberId);
    expect(audited?.data).toEqual({ consoleSessions: 1 });
  });
});

describe('CSRF', () => {
  it('refuses a form without the session’s CSRF field with a clear page (403), and does nothing', async () => {
    const cookie = await signIn(gw, approverToken);
    const other = await signIn(gw, approverToken);
    const { csrf: othersField } = await open(gw, '/console', other);
    for (const fields of [{}, { csrf: 'forged' }, { csrf: othersField }] as Record<string, string>[]) {
      const res = await form(gw, '/console/sign-out', fields, { cookie });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('This form has expired');
    }
    // From another site, even with the right field.
    const { csrf } = await open(gw, '/console', cookie);
    const cross = await form(gw, '/console/sign-out', { csrf }, { cookie, origin: 'https://evil.test' });
    expect(cross.status).toBe(403);
    expect((await page(gw, '/console', cookie)).status).toBe(200);
  });
});

describe('headers, assets and navigation', () => {
  it('sends a strict CSP, and the pages carry no inline script or style', async () => {
    const cookie = await signIn(gw, approverToken);
    for (const res of [await page(gw, '/console', cookie), await page(gw, '/console/sign-in')]) {
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle="/);
    }
  });

  it('serves assets by the hash of their content, cached for a year', async () => {
    const html = await (await page(gw, '/console/sign-in')).text();
    const href = /href="(\/console\/assets\/console\.([0-9a-f]{16})\.css)"/.exec(html);
    expect(href).not.toBeNull();
    const res = await page(gw, href?.[1] ?? '');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/css/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const body = await res.text();
    expect(createHash('sha256').update(body).digest('hex').slice(0, 16)).toBe(href?.[2]);
    expect((await page(gw, '/console/assets/console.0000000000000000.css')).status).toBe(404);
  });

  it('shows each role only its pages; a page not for the role is a 403 page', async () => {
    const approver = await signIn(gw, approverToken);
    const admin = await signIn(gw, tenant.adminToken);
    const approverHome = await (await page(gw, '/console', approver)).text();
    expect(approverHome).not.toContain('/console/test-admin-only');
    expect(approverHome).toContain('href="/console"');
    const adminHome = await (await page(gw, '/console', admin)).text();
    expect(adminHome).toContain('href="/console/test-admin-only"');
    const refused = await page(gw, '/console/test-admin-only', approver);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('This needs the admin role; you are signed in as approver.');
    expect((await page(gw, '/console/test-admin-only', admin)).status).toBe(200);
  });

  it('every console page and form refuses the roles it does not list (403), and opens for the others', async () => {
    const tokens: Record<string, string> = { admin: tenant.adminToken, approver: approverToken };
    tokens.developer = await memberToken(gw, tenant, 'dev-roles@acme.test', 'developer');
    const sessions: Record<string, string> = {};
    for (const [role, token] of Object.entries(tokens)) sessions[role] = await signIn(gw, token);
    const consoleRoutes = [...declaredRoutes(gw.app).values()].filter(
      (r) => r.access.principal === 'console',
    );
    expect(consoleRoutes.length).toBeGreaterThan(5);
    for (const spec of consoleRoutes) {
      const roles = spec.access.principal === 'console' ? spec.access.roles : undefined;
      const path = spec.path.replace(/:[A-Za-z]+/g, 'x_unknown');
      for (const [role, cookie] of Object.entries(sessions)) {
        const { csrf } = await open(gw, '/console', cookie);
        const res =
          spec.method === 'get' ? await page(gw, path, cookie) : await form(gw, path, { csrf }, { cookie });
        const allowed = !roles || roles.includes(role as 'admin');
        if (allowed) expect([403, 500], `${spec.method} ${spec.path} as ${role}`).not.toContain(res.status);
        else expect(res.status, `${spec.method} ${spec.path} as ${role}`).toBe(403);
        // Signing out would end the session the loop goes on with.
        if (spec.path.startsWith('/console/sign-out') && allowed)
          sessions[role] = await signIn(gw, tokens[role] ?? '');
      }
    }
  });

  it('answers an unknown console address with a readable 404 page', async () => {
    const res = await page(gw, '/console/no/such/page');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const slash = await page(gw, '/console/');
    expect(slash.status).toBe(301);
    expect(slash.headers.get('location')).toBe('/console');
  });
});
