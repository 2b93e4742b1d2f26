import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import {
  call,
  createTenant,
  registerHttpBusiness,
  startUpstream,
  type Tenant,
  type Upstream,
} from '../support/harness.ts';
import { CHROMIUM, checkPage, launchChromium } from './axe.ts';
import {
  addMember,
  type LiveGateway,
  linkIn,
  park,
  policyKey,
  type SmtpCapture,
  stage,
  stagedPolicy,
  startLiveGateway,
  startSmtp,
} from './support.ts';

/**
 * The emailed approval page in headless Chromium: the payload shown as text, approve, the outcome;
 * each state (to decide, decided, an unknown link) checked by axe-core at 1280 and 375 px (no
 * serious or critical violation, nothing scrolling sideways), under the page's own CSP.
 */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the approval page in headless Chromium', () => {
  let browser: Browser;
  let smtp: SmtpCapture;
  let upstream: Upstream;
  let live: LiveGateway;
  let tenant: Tenant;

  beforeAll(async () => {
    browser = await launchChromium();
    smtp = await startSmtp();
    upstream = await startUpstream();
    live = await startLiveGateway({ env: { SMTP_URL: smtp.url } });
    tenant = await createTenant(live.gw);
    await registerHttpBusiness(live.gw, upstream.url, 'shop', 'retail');
    await addMember(live.gw, tenant, 'ann@acme.test', 'approver');
  });
  afterAll(async () => {
    await browser?.close();
    await live?.close();
    await upstream?.close();
    await smtp?.close();
  });

  it('opens the magic link, shows the payload, approves, and shows the outcome', async () => {
    const key = await policyKey(live.gw, tenant, 'browser', stagedPolicy([stage(0, 'approver')]));
    const { transactionId } = await park(live.gw, key, {
      amount_cents: 12345,
      sku: 'TEAPOT-9000',
      note: 'Tea for <the> "board" & co',
    });
    await deliverDue(live.gw.deps, live.gw.notify.senders);
    const link = linkIn(await smtp.next('ann@acme.test'));

    const page = await browser.newPage();
    try {
      const response = await page.goto(link);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toContain('USD 123.45');
      const request = await page.locator('#request').textContent();
      expect(request).toContain('"sku": "TEAPOT-9000"');
      // Escaped, shown as text: nothing of the request becomes markup.
      expect(request).toContain('Tea for <the> \\"board\\" & co');
      expect(await page.locator('body').textContent()).toContain('Every order needs a human');
      await checkPage(page, 'approve-link', 'approve-page');

      await page.fill('#reason', 'Approved from the browser');
      await Promise.all([page.waitForURL(`${link}/decision`), page.click('button[value=approve]')]);
      expect(await page.locator('#outcome').textContent()).toBe('You approved this request.');
      expect(await page.locator('main').textContent()).toContain('The business executed it: succeeded.');
      await checkPage(page, 'approve-link-decided', 'approve-page');
    } finally {
      await page.close();
    }
    expect(upstream.requests).toHaveLength(1);
    const status = await call(live.gw, 'GET', `/agp/status/${transactionId}`, { key });
    expect(status.body).toMatchObject({ status: 'succeeded' });
  });

  it('shows a readable page for a link that does not exist', async () => {
    const page = await browser.newPage();
    try {
      const response = await page.goto(`${live.url}/approve/wal_${'x'.repeat(43)}`);
      expect(response?.status()).toBe(404);
      expect(await page.locator('h1').textContent()).toBe('This link is not valid');
      await checkPage(page, 'approve-link-unknown', 'approve-page');
    } finally {
      await page.close();
    }
  });
});
