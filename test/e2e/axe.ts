import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium (`.ci/run` installs it when missing). */
export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/**
 * A page as a person sees it at 1280 and 375 px (issue 21): a screenshot of each under
 * test-artifacts/<folder>/, no serious or critical axe-core violation, nothing scrolling sideways on
 * a phone and, on a console page, the header and the navigation in two lines there. axe runs through
 * the DevTools protocol, so the page's CSP stays on.
 */
export async function checkPage(page: Page, name: string, folder: string): Promise<void> {
  const artifacts = join(process.cwd(), 'test-artifacts', folder);
  mkdirSync(artifacts, { recursive: true });
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
    await page.screenshot({ path: join(artifacts, `${name}-${width}.png`), fullPage: true });
    await page.evaluate(AXE);
    // Only the violations are needed: collecting every pass too doubles the run.
    const result = (await page.evaluate("axe.run({ resultTypes: ['violations'] })")) as AxeResult;
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(
      bad.map((v) => `${name} @${width}: ${v.id} ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`),
    ).toEqual([]);
    if (width !== 375) continue;
    const overflow = (await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    )) as number;
    expect(overflow, `${name} scrolls sideways at 375 px`).toBeLessThanOrEqual(0);
    // The header's items share one line, the navigation's another: an item that starts below the
    // bottom of the items before it starts a new line.
    const lines = (await page.evaluate(`(() => {
      const rows = (selector) => {
        let count = 0;
        let bottom = -Infinity;
        const boxes = [...document.querySelectorAll(selector)].map((e) => e.getBoundingClientRect());
        for (const box of boxes.sort((a, b) => a.top - b.top)) {
          if (box.top >= bottom) count += 1;
          bottom = Math.max(bottom, box.bottom);
        }
        return count;
      };
      return { header: rows('header.top .top-inner > *'), nav: rows('nav.main li') };
    })()`)) as { header: number; nav: number };
    expect(lines.header, `${name}: the header wraps at 375 px`).toBeLessThanOrEqual(1);
    expect(lines.nav, `${name}: the navigation wraps at 375 px`).toBeLessThanOrEqual(1);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}
