import { FORWARDED_BODY, SUCCEEDED } from '../config.ts';
import { httpLoad } from '../drivers/http-load.ts';
import { cpuFigures, cpuMeter } from '../lib/cpu.ts';
import { startServer } from '../lib/spawn.ts';
import type { Scenario } from './types.ts';

/** Hono and undici forwarding with nothing else (bench/servers/bare-proxy.ts): the stack's ceiling. */
export const bareProxy: Scenario = {
  id: 'bare-proxy',
  label: 'bare proxy (Hono+undici)',
  unit: 'req/s',
  async run({ upstream, settings }) {
    const proxy = await startServer('bare-proxy', { env: { UPSTREAM_URL: upstream.url } });
    try {
      const cpu = cpuMeter([proxy.pid]);
      const load = await httpLoad(
        { url: proxy.url, path: '/agp/execute', body: FORWARDED_BODY, expectBodyIncludes: SUCCEEDED },
        settings,
      );
      const { data, notes } = cpuFigures('proxy', cpu.perRequest(load.okRequestsIncludingWarmup));
      return { load, notes: ['no auth, no ledger: the stack ceiling', ...notes], data };
    } finally {
      await proxy.stop();
    }
  },
};
