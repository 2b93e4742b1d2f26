import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveGateway, startLiveGateway } from '../e2e/support.ts';
import { call, createTenant, type Tenant } from '../support/harness.ts';
import { type Idp, startIdp } from './idp.ts';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Console single sign-on in headless Chromium (issue 22): an admin sets it up on the console's page
 * with a real OpenID provider (oidc-provider on port 0), then people of the company sign in through
 * the IdP's login page and land in the console with the role their group gives them. The console's
 * CSP is enforced throughout (its form-action keeps a form from redirecting off-site, which is why
 * the single sign-on form answers a page that moves on to the IdP).
 */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('single sign-on in headless Chromium', () => {
  let browser: Browser;
  let live: LiveGateway;
  let tenant: Tenant;
  let idp: Idp;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
    live = await startLiveGateway({ realClock: true });
    tenant = await createTenant(live.gw, { name: 'Acme' });
    idp = await startIdp({
      redirectUris: [`${live.url}/console/sso/callback`],
      accounts: {
        ada: { email: 'ada@acme.test', groups: ['staff', 'warden-admins'] },
        dan: { email: 'dan@acme.test', groups: ['engineering'] },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await live?.close();
    await idp?.close();
  });

  const newPage = async (): Promise<Page> => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    return page;
  };

  /** The sign-in page's single sign-on form, the IdP's login form, back in the console. */
  const signInWithSso = async (page: Page, email: string, login: string) => {
    await page.goto(`${live.url}/console/sign-in`);
    await page.fill('#sso-email', email);
    await Promise.all([
      page.waitForURL(`${idp.issuer}/interaction/**`),
      page.click('text=Continue with single sign-on'),
    ]);
    expect(await page.textContent('h1')).toBe('Acme identity provider');
    await page.fill('#login', login);
    await Promise.all([page.waitForURL(`${live.url}/console`), page.click('#idp-sign-in')]);
  };

  it('an admin sets it up on the console page; people sign in at the IdP with the role of their group', async () => {
    const admin = await newPage();
    await admin.goto(`${live.url}/console/sign-in`);
    await admin.fill('#token', tenant.adminToken);
    await Promise.all([admin.waitForURL(`${live.url}/console`), admin.click('button:has-text("Sign in")')]);
    await Promise.all([admin.waitForURL('**/console/sso'), admin.click('nav.main >> text=Single sign-on')]);
    expect(await admin.textContent('#sso-redirect-uri')).toBe(`${live.url}/console/sso/callback`);
    await admin.fill('#sso-issuer', idp.issuer);
    await admin.fill('#sso-client-id', idp.clientId);
    await admin.fill('#sso-client-secret', idp.clientSecret);
    await admin.fill('#sso-domains', 'acme.test');
    await admin.fill('#sso-scopes', 'openid email profile groups');
    await admin.fill('#sso-mappings', 'warden-admins = admin\nengineering = developer');
    await admin.check('#sso-jit');
    await Promise.all([
      admin.waitForURL('**/console/sso?done=saved'),
      admin.click('button:has-text("Save")'),
    ]);
    expect(await admin.textContent('main')).toContain('Saved.');
    // The secret is not shown again; the page says it is stored.
    expect(await admin.inputValue('#sso-client-secret')).toBe('');
    expect(await admin.getAttribute('#sso-client-secret', 'placeholder')).toContain('Stored');

    // Ada, in warden-admins: a new member, an admin (the admin-only page is in her navigation).
    const ada = await newPage();
    await signInWithSso(ada, 'ada@acme.test', 'ada');
    const header = (await ada.textContent('header')) ?? '';
    expect(header).toContain('ada@acme.test');
    expect(header).toContain('admin');
    expect(await ada.locator('nav.main >> text=Single sign-on').count()).toBe(1);

    // Dan, in engineering: a developer, without the admin pages.
    const dan = await newPage();
    await signInWithSso(dan, 'dan@acme.test', 'dan');
    expect((await dan.textContent('header')) ?? '').toContain('developer');
    expect(await dan.locator('nav.main >> text=Single sign-on').count()).toBe(0);
    await dan.goto(`${live.url}/console/sso`);
    expect(await dan.textContent('h1')).toBe('Not for your role');

    const members = await call(live.gw, 'GET', '/v1/members', { key: tenant.adminToken });
    const roles = Object.fromEntries(
      (members.body.members as { email: string; role: string }[]).map((m) => [m.email, m.role]),
    );
    expect(roles).toMatchObject({ 'ada@acme.test': 'admin', 'dan@acme.test': 'developer' });
    expect(cspViolations).toEqual([]);
  }, 120_000);

  it('an address of a domain nobody routes stays on the sign-in page, told why', async () => {
    const page = await newPage();
    await page.goto(`${live.url}/console/sign-in`);
    await page.fill('#sso-email', 'someone@elsewhere.test');
    await Promise.all([
      page.waitForURL('**/console/sign-in/sso'),
      page.click('text=Continue with single sign-on'),
    ]);
    expect(await page.textContent('main')).toContain(
      'No workspace signs in with single sign-on for elsewhere.test',
    );
    expect(await page.inputValue('#sso-email')).toBe('someone@elsewhere.test');
  }, 60_000);
});
