import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveGateway, startLiveGateway } from '../e2e/support.ts';

/** Debian's chromium (`.ci/run` installs it when missing). */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'docs');

/**
 * GET /docs without a network (issue 21): every request to anything but the gateway is refused, and
 * the reference still renders, under its CSP, with the link to the document it reads.
 */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('/docs in headless Chromium, offline', () => {
  let browser: Browser;
  let live: LiveGateway;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
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
    live = await startLiveGateway();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await live?.close();
  });

  it('renders the reference from files the gateway serves, with nothing blocked by its CSP', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const elsewhere: string[] = [];
    const served: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${live.url}/`)) {
        served.push(new URL(url).pathname);
        return route.continue();
      }
      // data: URLs never reach the router; anything here would need a network.
      elsewhere.push(url);
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));

    const res = await page.goto(`${live.url}/docs`);
    expect(res?.status()).toBe(200);
    // The reference has read /openapi.json and drawn an operation from it, by its summary.
    await page.getByText('Act on a business, if the gate allows it').first().waitFor({ timeout: 60_000 });
    await expect(page.locator('a[href="/openapi.json"]').first().isVisible()).resolves.toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'docs-1280.png') });

    expect(served).toContain('/openapi.json');
    expect(served.some((p) => /^\/docs\/assets\/scalar\.[0-9a-f]{16}\.js$/.test(p))).toBe(true);
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
