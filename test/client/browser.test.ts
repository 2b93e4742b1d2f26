import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  listen,
  registerHttpBusiness,
  sequence,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

/**
 * The browser and edge entry of @warden/client running in headless Chromium: bundled for the
 * browser (no polyfill, no Node built-in), it executes through a real gateway and verifies the
 * receipt's signature and ledger inclusion with the page's own Web Crypto. The page is served as
 * the gateway's origin (the gateway sends no CORS headers), every other request passed to the gateway.
 */
const CHROMIUM = '/usr/bin/chromium';
/** HTTPS: Web Crypto's `subtle` and `randomUUID` exist only in secure contexts. */
const ORIGIN = 'https://warden.test';
const ENTRY = fileURLToPath(new URL('../../client/src/index.ts', import.meta.url));

declare const Warden: typeof import('../../client/src/index.ts');

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('@warden/client in a browser', () => {
  let browser: Browser;
  let page: Page;
  let gw: TestGateway;
  let gateway: { url: string; close: () => Promise<void> };
  let upstream: Upstream;
  let tenant: Tenant;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'Warden',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    upstream = await startUpstream();
    gw = await startTestGateway();
    await registerHttpBusiness(gw, upstream.url, 'shop');
    gateway = await listen(gw);
    tenant = await createTenant(gw);
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
    page = await browser.newPage();
    await page.route(`${ORIGIN}/**`, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === '/') {
        await route.fulfill({ contentType: 'text/html', body: `<!doctype html><script>${script}</script>` });
        return;
      }
      await route.fulfill({
        response: await route.fetch({ url: `${gateway.url}${url.pathname}${url.search}` }),
      });
    });
    await page.goto(`${ORIGIN}/`);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await gw?.dispose();
    await upstream?.close();
  });

  it('executes and verifies a receipt and its inclusion with the page’s Web Crypto', async () => {
    const request = { sku: 'atlas', amount_cents: 1500 };
    const executed = await page.evaluate(
      async ({ origin, key, request }) => {
        const client = new Warden.WardenClient({ baseUrl: origin, agentKey: key });
        const done = await client.execute({ businessId: 'shop', request });
        const check = await client.verifyReceipt(done.transactionId, { request });
        return { done, check, node: typeof (globalThis as { process?: unknown }).process };
      },
      { origin: ORIGIN, key: tenant.agentKey, request },
    );
    expect(executed.node).toBe('undefined');
    expect(executed.done).toMatchObject({ outcome: 'executed', status: 'succeeded' });
    expect(executed.check).toMatchObject({ valid: true, signature: true, inclusion: 'pending' });
    expect(upstream.requests).toHaveLength(1);

    expect(await sequence(gw)).toBeGreaterThan(0);
    const appended = await page.evaluate(
      async ({ origin, key, id }) => {
        const client = new Warden.WardenClient({ baseUrl: origin, agentKey: key });
        const good = await client.verifyReceipt(id, { requireInclusion: true });
        const { receipt, log } = await client.receipt(id);
        const [head = '', , signature = ''] = receipt.split('.');
        const forged = `${head}.${btoa('{"v":2,"status":"failed"}').replace(/=+$/, '')}.${signature}`;
        const bad = await client.verifyReceipt({ receipt: forged, log });
        return { good, bad };
      },
      { origin: ORIGIN, key: tenant.agentKey, id: executed.done.transactionId },
    );
    expect(appended.good).toMatchObject({ valid: true, inclusion: { included: true } });
    expect(appended.bad).toMatchObject({ valid: false, signature: false, inclusion: { included: false } });
  });
});
