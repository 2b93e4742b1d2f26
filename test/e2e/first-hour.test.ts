import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECHO_CATALOG } from '../../adapters/echo/index.ts';
import { cleanEnv, type Running, runNode } from '../process/spawn.ts';
import { CHROMIUM, checkPage, launchChromium } from './axe.ts';

/**
 * The first hour of a new user (issue 21 item 3), end to end: `npm start` (the same entry,
 * gateway/main.ts) on a data folder that does not exist yet; the banner read as a person reads it;
 * its two curl lines run as printed: the first executes, the second is parked (202); sign in to the
 * console with the printed admin token, approve it there, and the agent's status is `succeeded`.
 * Every console page of that fresh workspace passes axe at 1280 and 375 px on the way.
 */

interface Shell {
  code: number;
  stdout: string;
}

function sh(command: string): Promise<Shell> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { timeout: 15_000 }, (error, stdout) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout });
    });
  });
}

/** Runs a printed curl line as printed, with `-w` added so the HTTP status comes back too. */
async function curl(line: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const ran = await sh(`${line} -w '\\n%{http_code}'`);
  expect(ran.code, ran.stdout).toBe(0);
  const cut = ran.stdout.lastIndexOf('\n');
  return { status: Number(ran.stdout.slice(cut + 1)), body: JSON.parse(ran.stdout.slice(0, cut)) };
}

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the first hour, from npm start', () => {
  let folder = '';
  let gateway: Running;
  let browser: Browser;
  let page: Page;
  let banner = '';

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'warden-first-hour-'));
    // A data folder that does not exist yet, as on a fresh clone.
    gateway = runNode(
      'gateway/main.ts',
      [],
      cleanEnv({
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: `file:${join(folder, 'data', 'warden.db')}`,
      }),
    );
    await gateway.waitFor(/Approve it in the console: \S+/, 60_000);
    banner = gateway.stdout();
    browser = await launchChromium();
    page = await browser.newPage();
  }, 90_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    gateway?.kill();
    await gateway?.exited;
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  const printed = (pattern: RegExp): string => {
    const found = pattern.exec(banner)?.[1];
    if (!found) throw new Error(`the banner lacks ${pattern}:\n${banner}`);
    return found;
  };

  it('prints where the console and the docs are, and two orders of items the echo business lists', async () => {
    const consoleUrl = printed(
      /^Console\s+(http:\/\/localhost:\d+\/console)\s+\(sign in with the admin token\)/m,
    );
    const port = new URL(consoleUrl).port;
    expect(printed(/^API reference\s+(\S+)/m)).toBe(`http://localhost:${port}/docs`);
    expect(printed(/Approve it in the console: (\S+)/)).toBe(`${consoleUrl}/approvals`);
    const lines = [...banner.matchAll(/^\s*(curl -s \S+\/agp\/execute .*)$/gm)].map((m) => m[1] ?? '');
    expect(lines).toHaveLength(2);
    const skus = lines.map((line) => {
      const body = JSON.parse(/-d '([^']+)'/.exec(line)?.[1] ?? '{}') as { request: { sku: string } };
      return body.request.sku;
    });
    for (const sku of skus) expect(ECHO_CATALOG.map((item) => item.sku)).toContain(sku);
    // Logs are JSON on a pipe; the banner is for the person at the terminal.
    expect(banner).toMatch(/^\{"level":30,.*"msg":"listening"/m);
  });

  it('runs the two curl lines: 200 succeeded, then 202 parked; approved in the console, it succeeds', async () => {
    const [first, second] = [...banner.matchAll(/^\s*(curl -s \S+\/agp\/execute .*)$/gm)].map(
      (m) => m[1] ?? '',
    );
    const adminToken = printed(/admin token\s+(wm_\S+)/);
    const agentKey = printed(/agent key\s+(wk_\S+)/);
    const consoleUrl = printed(/^Console\s+(\S+)/m);

    const executed = await curl(first ?? '');
    expect(executed.status).toBe(200);
    expect(executed.body).toMatchObject({ status: 'succeeded', data: { sku: 'sticker' } });

    const parked = await curl(second ?? '');
    expect(parked.status).toBe(202);
    expect(parked.body.status).toBe('pending_approval');
    const transactionId = parked.body.transactionId as string;
    const approvalId = (parked.body.approval as { id: string }).id;

    // The console, signed in with the printed admin token.
    await page.goto(consoleUrl);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    await checkPage(page, 'sign-in', 'first-hour');
    await page.fill('#token', adminToken);
    await Promise.all([page.waitForURL(consoleUrl), page.click('form:has(#token) button[type=submit]')]);
    expect(await page.locator('#signed-in').textContent()).toContain('admin@demo.local (admin)');
    await checkPage(page, 'overview', 'first-hour');

    await page.click('nav.main >> text=Approvals');
    await page.waitForURL('**/console/approvals');
    const row = page.locator(`tr[data-approval="${approvalId}"]`);
    expect(await row.textContent()).toContain('USD 129.00');
    await checkPage(page, 'approvals', 'first-hour');
    await Promise.all([page.waitForURL(`**/console/approvals/${approvalId}`), row.locator('a').click()]);
    expect(await page.locator('#rule').textContent()).toBe('large-orders');
    await checkPage(page, 'approval', 'first-hour');
    await Promise.all([page.waitForURL('**?done=approve'), page.click('button[value=approve]')]);
    expect(await page.locator('.notice').textContent()).toBe('You approved this request.');
    await checkPage(page, 'approval-decided', 'first-hour');

    // The agent's view, with the status line the banner printed.
    const statusLine = printed(/its status says "succeeded": (curl .*)$/m).replace(
      '<transactionId>',
      transactionId,
    );
    const status = await curl(statusLine);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ transactionId, status: 'succeeded', operation: 'execute' });
    expect(agentKey).toBeTruthy();
  }, 180_000);

  it('the fresh workspace’s other pages pass axe at 1280 and 375 px; the reference is a click from the editor', async () => {
    const base = new URL(printed(/^Console\s+(\S+)/m)).origin;
    for (const [name, path] of [
      ['transactions', '/console/transactions'],
      ['transactions-none', '/console/transactions?agent=nobody'],
      ['policy', '/console/policy'],
      ['policy-first-run', '/console/policy?name=fresh'],
      ['policy-reference', '/console/help/policy'],
      // With a signed checkpoint by now (keys, members, webhooks, businesses: admin-browser.test.ts).
      ['audit', '/console/audit'],
    ] as const) {
      const res = await page.goto(`${base}${path}`);
      expect(res?.status(), path).toBe(200);
      await checkPage(page, name, 'first-hour');
    }
    // The transaction page of the order approved above.
    await page.goto(`${base}/console/transactions?status=succeeded`);
    await Promise.all([
      page.waitForURL('**/console/transactions/txn_*'),
      page.locator('tr[data-transaction] a').first().click(),
    ]);
    await checkPage(page, 'transaction', 'first-hour');
    // The reference is one click from the editor.
    await page.goto(`${base}/console/policy?name=fresh`);
    await Promise.all([page.waitForURL('**/console/help/policy'), page.click('#policy-reference-link')]);
    expect(await page.locator('h1').textContent()).toBe('Policy reference');
  }, 240_000);
});
