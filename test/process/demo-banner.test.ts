import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapDemo, DEMO_ORDERS, demoInstructions } from '../../gateway/bootstrap.ts';
import { type LiveGateway, startLiveGateway } from '../e2e/support.ts';

/**
 * The start banner under each execute mode (issue 21 item 3): its shell lines work as printed in
 * confirm mode too (prepare, then execute with the token), and strict mode, whose ceiling refuses the
 * large order before any policy, says so instead of printing a line that cannot park.
 * (Open mode, through the real process: test/e2e/first-hour.test.ts.)
 */

const live: LiveGateway[] = [];
afterEach(async () => {
  for (const gw of live.splice(0)) await gw.close();
});

function sh(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', script], { timeout: 15_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

async function banner(env: Record<string, string>) {
  const gw = await startLiveGateway({ env, realClock: true });
  live.push(gw);
  const demo = await bootstrapDemo(gw.gw.deps);
  if (!demo) throw new Error('no demo on an empty database');
  const config = gw.gw.deps.config;
  return demoInstructions(demo, {
    baseUrl: gw.url,
    mode: config.executeMode,
    maxExecuteAmount: config.maxExecuteAmount,
  });
}

/** The shell lines under the numbered step that starts with `step`. */
function stepLines(text: string, step: string): string {
  const from = text.indexOf(`\n${step}`);
  const block = text.slice(from + 1).split('\n\n')[0] ?? '';
  return block
    .split('\n')
    .filter((line) => /^\s+(TOKEN=|curl )/.test(line))
    .join('\n');
}

describe('the demo banner', () => {
  it('confirm mode: prepare then execute, as printed; the small order executes and the large one parks', async () => {
    const text = await banner({ AGENR_EXECUTE_POLICY: 'confirm' });
    const small = stepLines(text, '1.');
    const large = stepLines(text, '2.');
    expect(small).toContain('/agp/execute/prepare');
    expect(small).toContain('X-Confirmation-Token: $TOKEN');
    expect(JSON.parse(await sh(small))).toMatchObject({ status: 'succeeded', data: { sku: 'sticker' } });
    expect(JSON.parse(await sh(large))).toMatchObject({
      status: 'pending_approval',
      approval: { id: expect.stringMatching(/^apr_/) },
    });
  });

  it('strict mode under the default ceiling: the large order is explained, not printed', async () => {
    const text = await banner({ AGENR_EXECUTE_POLICY: 'strict' });
    expect(stepLines(text, '2.')).toBe('');
    expect(text).toContain('AGENR_MAX_EXECUTE_AMOUNT');
    expect(text).not.toContain(`"sku":"${DEMO_ORDERS.large.sku}"`);
    expect(JSON.parse(await sh(stepLines(text, '1.')))).toMatchObject({ status: 'succeeded' });
  });

  it('strict mode with a ceiling above the large order prints it, and it parks', async () => {
    const text = await banner({ AGENR_EXECUTE_POLICY: 'strict', AGENR_MAX_EXECUTE_AMOUNT: '20000' });
    expect(JSON.parse(await sh(stepLines(text, '2.')))).toMatchObject({ status: 'pending_approval' });
  });
});
