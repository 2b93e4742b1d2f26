import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_BODY, FORWARDED_BODY, productionGatewayEnv, SUCCEEDED } from './config.ts';
import { type OpenLoopResult, openLoop } from './drivers/open-loop.ts';
import type { Floor } from './floors.ts';
import type { LoadSettings } from './lib/load.ts';
import { type ServerHandle, startServer } from './lib/spawn.ts';
import { fmt } from './lib/table.ts';

/**
 * Issue 20: latency at a fixed rate (BENCH_LATENCY_RATE, default 500 req/s), open loop (requests
 * evenly spaced, timed from when each was due): the stand-in upstream called directly, through the
 * bare proxy, and through the gateway (open execute on SQLite, receipts and the ledger log on). The
 * floors are what the gateway adds over calling the upstream directly.
 */
export interface LatencyRow {
  target: 'direct' | 'bare-proxy' | 'gateway-open';
  result: OpenLoopResult;
}

export async function benchLatency(upstream: ServerHandle, settings: LoadSettings, dir: string) {
  const rate = Number(process.env.BENCH_LATENCY_RATE ?? 500);
  const options = { rate, seconds: settings.duration, warmupSeconds: Math.max(1, settings.warmup) };
  const rows: LatencyRow[] = [];
  const forwarded = { path: '/agp/execute', body: FORWARDED_BODY, expectBodyIncludes: SUCCEEDED };
  rows.push({ target: 'direct', result: await openLoop({ url: upstream.url, ...forwarded }, options) });
  const proxy = await startServer('bare-proxy', { env: { UPSTREAM_URL: upstream.url } });
  try {
    rows.push({ target: 'bare-proxy', result: await openLoop({ url: proxy.url, ...forwarded }, options) });
  } finally {
    await proxy.stop();
  }
  const logFd = openSync(join(dir, 'latency-gateway.log'), 'w');
  const gateway = await startServer('gateway', {
    stdout: logFd,
    env: {
      ...productionGatewayEnv(`file:${join(dir, 'latency.db')}`),
      UPSTREAM_URL: upstream.url,
      AGENR_EXECUTE_POLICY: 'open',
    },
  });
  try {
    const key = gateway.info.key as string;
    rows.push({
      target: 'gateway-open',
      result: await openLoop(
        {
          url: gateway.url,
          path: '/agp/execute',
          headers: { authorization: `Bearer ${key}` },
          body: AGENT_BODY,
          expectBodyIncludes: SUCCEEDED,
        },
        options,
      ),
    });
  } finally {
    await gateway.stop();
    closeSync(logFd);
  }
  return { rate, rows, ...latencyFloors(rows) };
}

function latencyFloors(rows: LatencyRow[]): {
  gatewayAdds: { p50Ms: number; p99Ms: number } | null;
  bareAdds: { p50Ms: number; p99Ms: number } | null;
  floors: Floor[];
} {
  const of = (t: LatencyRow['target']) => rows.find((r) => r.target === t)?.result;
  const direct = of('direct');
  const gateway = of('gateway-open');
  const bare = of('bare-proxy');
  const added = (r: OpenLoopResult | undefined) =>
    r && direct ? { p50Ms: r.p50Ms - direct.p50Ms, p99Ms: r.p99Ms - direct.p99Ms } : null;
  const gatewayAdds = added(gateway);
  const bareAdds = added(bare);
  return {
    gatewayAdds,
    bareAdds,
    floors: gatewayAdds
      ? [
          {
            floor: 'issue 20: at a fixed rate, the gateway adds <= 0.8 ms at p50 over direct',
            measured: gatewayAdds.p50Ms,
            verdict: gatewayAdds.p50Ms <= 0.8 ? 'met' : 'MISSED',
          },
          {
            floor: 'issue 20: at a fixed rate, the gateway adds <= 2.5 ms at p99 over direct',
            measured: gatewayAdds.p99Ms,
            verdict: gatewayAdds.p99Ms <= 2.5 ? 'met' : 'MISSED',
          },
        ]
      : [],
  };
}

export function latencyTable(rows: LatencyRow[]): string[][] {
  return rows.map(({ target, result: r }) => [
    target,
    fmt.int(r.sent),
    String(r.failed),
    fmt.ms(r.p50Ms),
    fmt.ms(r.p90Ms),
    fmt.ms(r.p99Ms),
    fmt.ms(r.maxMs),
    fmt.ms(r.sendLagP99Ms),
    r.driverCpuMs.toFixed(3),
  ]);
}
