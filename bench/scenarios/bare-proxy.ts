import { FORWARDED_BODY, SUCCEEDED } from '../config.ts';
import { httpLoad } from '../drivers/http-load.ts';
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
      return {
        load: await httpLoad(
          { url: proxy.url, path: '/agp/execute', body: FORWARDED_BODY, expectBodyIncludes: SUCCEEDED },
          settings,
        ),
        notes: ['no auth, no ledger: the stack ceiling'],
      };
    } finally {
      await proxy.stop();
    }
  },
};
