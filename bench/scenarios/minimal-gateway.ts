import { AGENT_BODY, SUCCEEDED } from '../config.ts';
import { httpLoad } from '../drivers/http-load.ts';
import { cpuFigures, cpuMeter } from '../lib/cpu.ts';
import { startServer } from '../lib/spawn.ts';
import type { Scenario } from './types.ts';

/** The least a durable gateway must do (bench/servers/minimal-gateway.ts): issue 9's yardstick. */
export const minimalGateway: Scenario = {
  id: 'minimal-gateway',
  label: 'minimal durable gateway',
  unit: 'req/s',
  async run({ upstream, settings }) {
    const server = await startServer('minimal-gateway', { env: { UPSTREAM_URL: upstream.url } });
    try {
      const cpu = cpuMeter([server.pid]);
      const load = await httpLoad(
        {
          url: server.url,
          path: '/agp/execute',
          headers: { authorization: `Bearer ${String(server.info.key)}` },
          body: AGENT_BODY,
          expectBodyIncludes: SUCCEEDED,
        },
        settings,
      );
      const { data, notes } = cpuFigures('server', cpu.perRequest(load.okRequestsIncludingWarmup));
      return {
        load,
        notes: [
          '3 indexed reads, RFC 8785 hash, HMAC-signed forward, 2 group-committed writes (issue 9)',
          ...notes,
        ],
        data,
      };
    } finally {
      await server.stop();
    }
  },
};
