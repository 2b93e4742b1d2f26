import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveGateway, startLiveGateway } from '../e2e/support.ts';
import { call, createTenant, registerEcho, type Tenant } from '../support/harness.ts';
import { memberToken } from './support.ts';

/**
 * The console's admin pages in headless Chromium (issue 14 items 4–6): sign in with a member token,
 * save an invalid then a valid policy (the live check lists the problems as you type), simulate,
 * revoke a key; a screenshot of every page at 1280 and 375 px (test-artifacts/console/) and
 * axe-core on every page, with no serious or critical violation.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts/console';
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core'), 'utf8');

const PAGES = [
  ['overview', '/console'],
  ['policy', '/console/policy'],
  ['keys', '/console/keys'],
  ['members', '/console/members'],
  ['webhooks', '/console/webhooks'],
  ['integrations', '/console/integrations'],
  ['businesses', '/console/businesses'],
  ['audit', '/console/audit'],
] as const;

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)(
  'the console admin pages in headless Chromium',
  () => {
    let browser: Browser;
    let live: LiveGateway;
    let tenant: Tenant;
    let page: Page;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      live = await startLiveGateway();
      tenant = await createTenant(live.gw, { name: 'Acme' });
      await registerEcho(live.gw);
      await memberToken(live.gw, tenant, 'ann@acme.test', 'approver');
      // bypassCSP only so the test can inject axe-core; the pages themselves run under the console's CSP.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
      page = await context.newPage();
    });
    afterAll(async () => {
      await page?.close();
      await browser?.close();
      await live?.close();
    });

    it('signs in with a member token', async () => {
      await page.goto(`${live.url}/console/sign-in`);
      await page.fill('#token', tenant.adminToken);
      await Promise.all([
        page.waitForURL(`${live.url}/console`),
        page.click('form:has(#token) button[type=submit]'),
      ]);
      expect(await page.locator('#signed-in').textContent()).toContain('(admin)');
    });

    it('lists problems as you type, refuses an invalid policy with them, then saves a valid one', async () => {
      await page.goto(`${live.url}/console/policy`);
      const invalid = JSON.stringify(
        { spending_limits: [{ id: 'daily', amount: -1, interval: 'day' }] },
        null,
        2,
      );
      await page.fill('#policy-document', invalid);
      // The live check (policy-editor.js, debounced) lists the problem at its path without a page load.
      await page.locator('#policy-issues code.path', { hasText: 'spending_limits.0.amount' }).waitFor();
      const [saved] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/console/policy/save')),
        page.click('button:has-text("Save as a new version")'),
      ]);
      expect(saved.status()).toBe(422);
      expect(await page.locator('.notice.error').textContent()).toContain('Not saved');
      expect(await page.locator('#policy-issues').textContent()).toContain('spending_limits.0.amount');
      expect((await call(live.gw, 'GET', '/v1/policies/default', { key: tenant.adminToken })).status).toBe(
        404,
      );

      const valid = JSON.stringify(
        { spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }] },
        null,
        2,
      );
      await page.fill('#policy-document', valid);
      await page.locator('#policy-issues-summary', { hasText: 'No problems' }).waitFor();
      await Promise.all([
        page.waitForURL(/saved=saved-1/),
        page.click('button:has-text("Save as a new version")'),
      ]);
      expect(await page.locator('.notice.ok').textContent()).toBe('Saved as version 1.');
      expect(await page.locator('#active-version').textContent()).toContain('Version 1');
    });

    it('simulates a request and shows the decision with every check', async () => {
      await page.selectOption('#sim-business', 'echo');
      await page.fill('#sim-request', JSON.stringify({ sku: 'mug', amount_cents: 2_500 }));
      await Promise.all([
        page.waitForURL(`${live.url}/console/policy/simulate`),
        page.click('button:has-text("Simulate")'),
      ]);
      expect(await page.locator('#simulation-result h3').textContent()).toContain('Auto-approved');
      expect(await page.locator('#simulation-result table').textContent()).toContain('daily');
    });

    it('creates a key, shows it once, and revokes it after confirming: the key is refused', async () => {
      await page.goto(`${live.url}/console/keys`);
      await page.fill('#key-agent', 'browser-agent');
      await Promise.all([
        page.waitForURL(`${live.url}/console/keys/create`),
        page.click('button:has-text("Create key")'),
      ]);
      const key = (await page.locator('#new-key-value').textContent()) ?? '';
      expect((await call(live.gw, 'GET', '/agp/businesses', { key })).status).toBe(200);
      // Some traffic for the overview's charts.
      const exec = await call(live.gw, 'POST', '/agp/execute', {
        key,
        body: { businessId: 'echo', request: { sku: 'mug', amount_cents: 2_500 } },
      });
      expect(exec.status).toBe(200);
      await page.goto(`${live.url}/console/keys`);
      await page.click('button[aria-label^="Revoke key"][aria-label$="of browser-agent"]');
      expect(await page.locator('h1').textContent()).toContain('Revoke key');
      await Promise.all([page.waitForURL(/\/console\/keys\?revoked=/), page.click('button.danger')]);
      expect(await page.locator('.notice.ok').textContent()).toContain('refused from now on');
      expect((await call(live.gw, 'GET', '/agp/businesses', { key })).status).toBe(401);
    });

    it('adds a webhook (for the screenshots and the checklist)', async () => {
      await page.goto(`${live.url}/console/webhooks`);
      await page.fill('#hook-url', 'https://hooks.example.com/warden');
      await Promise.all([
        page.waitForURL(`${live.url}/console/webhooks/create`),
        page.click('button:has-text("Add webhook")'),
      ]);
      expect(await page.locator('#new-webhook-secret').textContent()).toMatch(/^whsec_/);
    });

    it('has a second policy version, so the policy page shows a diff', async () => {
      const put = await call(live.gw, 'PUT', '/v1/policies/default', {
        key: tenant.adminToken,
        body: {
          spending_limits: [{ id: 'daily', amount: 20_000, interval: 'day' }],
          categories: { allow: ['demo'] },
        },
      });
      expect(put.status).toBe(201);
      await page.goto(`${live.url}/console/policy`);
      expect(await page.locator('table.diff').textContent()).toContain('+ added');
    });

    it.each(PAGES)(
      '%s: screenshots at 1280 and 375 px, no serious or critical axe violation',
      async (name, path) => {
        for (const width of [1280, 375]) {
          await page.setViewportSize({ width, height: 900 });
          const res = await page.goto(`${live.url}${path}`);
          expect(res?.status()).toBe(200);
          await page.screenshot({ path: `${ARTIFACTS}/${name}-${width}.png`, fullPage: true });
          await page.addScriptTag({ content: AXE });
          const result = (await page.evaluate('axe.run()')) as {
            violations: { id: string; impact: string | null; help: string; nodes: { target: unknown }[] }[];
          };
          const bad = result.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map(
              (v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`,
            );
          expect(bad, `${path} at ${width} px`).toEqual([]);
          // Nothing wider than the viewport at 375 px but what scrolls inside its own box.
          if (width === 375) {
            const overflow = (await page.evaluate('document.documentElement.scrollWidth')) as number;
            const wide =
              overflow > 375
                ? await page.evaluate(
                    `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 375).map((e) => e.tagName + '.' + e.className).slice(0, 10).join(', ')`,
                  )
                : '';
            expect(overflow, `${path} scrolls sideways at 375 px: ${wide}`).toBeLessThanOrEqual(375);
          }
        }
      },
    );

    it('overview: charts from the traffic, and the checklist', async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`${live.url}/console?range=24h`);
      expect(await page.locator('svg[role=img]').count()).toBeGreaterThanOrEqual(4);
      expect(await page.locator('#setup').textContent()).toContain('5 of 5 done');
    });
  },
);
