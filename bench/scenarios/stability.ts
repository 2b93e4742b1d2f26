import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_BODY, productionGatewayEnv, SUCCEEDED } from '../config.ts';
import { httpLoad } from '../drivers/http-load.ts';
import type { LoadSettings } from '../lib/load.ts';
import { type ServerHandle, startServer } from '../lib/spawn.ts';
import { fmt } from '../lib/table.ts';

/**
 * Issue 9: does throughput hold as the ledger grows? One gateway on one database, open execute,
 * six consecutive 10-second runs with no pause; the last against the first (a floor in floors.ts).
 */
export async function stabilityRun(
  upstream: ServerHandle,
  dir: string,
  settings: LoadSettings,
): Promise<number[]> {
  process.stdout.write('- stability: one database, 60 s of open execute in 10 s windows … ');
  const logFd = openSync(join(dir, 'gateway.log'), 'w');
  const gateway = await startServer('gateway', {
    stdout: logFd,
    env: {
      ...productionGatewayEnv(`file:${join(dir, 'warden.db')}`),
      UPSTREAM_URL: upstream.url,
      AGENR_EXECUTE_POLICY: 'open',
    },
  });
  const rates: number[] = [];
  try {
    const target = {
      url: gateway.url,
      path: '/agp/execute',
      headers: { authorization: `Bearer ${String(gateway.info.key)}` },
      body: AGENT_BODY,
      expectBodyIncludes: SUCCEEDED,
    };
    for (let i = 0; i < 6; i++) {
      const load = await httpLoad(target, {
        ...settings,
        duration: 10,
        warmup: i === 0 ? settings.warmup : 0,
      });
      rates.push(load.rate);
    }
  } finally {
    await gateway.stop();
    closeSync(logFd);
  }
  console.log(rates.map((r) => fmt.int(r)).join(' → '), 'req/s');
  return rates;
}
