import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_BODY, FORWARDED_BODY, productionGatewayEnv, SUCCEEDED } from './config.ts';
import { type OpenLoopResult, type OpenLoopTarget, openLoop } from './drivers/open-loop.ts';
import type { Floor } from './floors.ts';
import { cpuMeter } from './lib/cpu.ts';
import type { LoadSettings } from './lib/load.ts';
import { type ServerHandle, startServer } from './lib/spawn.ts';
import { median } from './lib/stats.ts';
import { fmt } from './lib/table.ts';

/**
 * Issue 20: latency at a fixed rate (BENCH_LATENCY_RATE, default 500 req/s), open loop (requests
 * evenly spaced, timed from when each was due): the stand-in upstream called directly, through the
 * bare proxy, and through the gateway (open execute on SQLite, receipts and the ledger log on). The
 * floors are what the gateway adds over calling the upstream directly, the median over BENCH_ROUNDS
 * rounds (one round of 8-10 s moved the gateway's p99 between 14 and 64 ms on this 2-core VM).
 */
export interface LatencyRow {
  target: 'direct' | 'bare-proxy' | 'gateway-open';
  result: OpenLoopResult;
  /**
   * The server's CPU per request at this rate (µs, every thread, warm-up included): at a fixed rate
   * a request runs on a cold core, and costs several times what it costs at saturation.
   */
  serverCpuUs?: number;
}

/** An open-loop run against a server process, with that process's CPU per request sent. */
async function timed(
  pid: number,
  target: OpenLoopTarget,
  options: { rate: number; seconds: number; warmupSeconds: number },
): Promise<Omit<LatencyRow, 'target'>> {
  const cpu = cpuMeter([pid]);
  const result = await openLoop(target, options);
  const sent = Math.round((options.seconds + options.warmupSeconds) * options.rate);
  return { result, serverCpuUs: cpu.perRequest(sent) };
}

export async function benchLatency(
  upstream: ServerHandle,
  settings: LoadSettings,
  dir: string,
  rounds: number,
) {
  const rate = Number(process.env.BENCH_LATENCY_RATE ?? 500);
  const options = { rate, seconds: settings.duration, warmupSeconds: Math.max(1, settings.warmup) };
  const perRound: LatencyRow[][] = [];
  for (let round = 1; round <= rounds; round++) {
    perRound.push(await latencyRound(upstream, options, join(dir, `latency-${round}`)));
  }
  return { rate, rounds: perRound, rows: medianRows(perRound), ...latencyFloors(perRound) };
}

/** One round: the upstream directly, the bare proxy, then a fresh gateway, one after another. */
async function latencyRound(
  upstream: ServerHandle,
  options: { rate: number; seconds: number; warmupSeconds: number },
  prefix: string,
): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  const forwarded = { path: '/agp/execute', body: FORWARDED_BODY, expectBodyIncludes: SUCCEEDED };
  rows.push({
    target: 'direct',
    ...(await timed(upstream.pid, { url: upstream.url, ...forwarded }, options)),
  });
  const proxy = await startServer('bare-proxy', { env: { UPSTREAM_URL: upstream.url } });
  try {
    rows.push({
      target: 'bare-proxy',
      ...(await timed(proxy.pid, { url: proxy.url, ...forwarded }, options)),
    });
  } finally {
    await proxy.stop();
  }
  const logFd = openSync(`${prefix}-gateway.log`, 'w');
  const gateway = await startServer('gateway', {
    stdout: logFd,
    env: {
      ...productionGatewayEnv(`file:${prefix}.db`),
      UPSTREAM_URL: upstream.url,
      AGENR_EXECUTE_POLICY: 'open',
    },
  });
  try {
    const key = gateway.info.key as string;
    rows.push({
      target: 'gateway-open',
      ...(await timed(
        gateway.pid,
        {
          url: gateway.url,
          path: '/agp/execute',
          headers: { authorization: `Bearer ${key}` },
          body: AGENT_BODY,
          expectBodyIncludes: SUCCEEDED,
        },
        options,
      )),
    });
  } finally {
    await gateway.stop();
    closeSync(logFd);
  }
  return rows;
}

const TARGETS: LatencyRow['target'][] = ['direct', 'bare-proxy', 'gateway-open'];

/** Per target, each figure's median over the rounds (requests and failures summed). */
function medianRows(perRound: LatencyRow[][]): LatencyRow[] {
  return TARGETS.flatMap((target) => {
    const ofTarget = perRound.flatMap((rows) => rows.filter((r) => r.target === target));
    const results = ofTarget.map((r) => r.result);
    const first = results[0];
    if (!first) return [];
    const mid = (pick: (r: OpenLoopResult) => number) => median(results.map(pick));
    const cpus = ofTarget.map((r) => r.serverCpuUs).filter((v): v is number => v !== undefined);
    return [
      {
        target,
        serverCpuUs: cpus.length === 0 ? undefined : median(cpus),
        result: {
          rate: first.rate,
          sent: results.reduce((n, r) => n + r.sent, 0),
          ok: results.reduce((n, r) => n + r.ok, 0),
          failed: results.reduce((n, r) => n + r.failed, 0),
          p50Ms: mid((r) => r.p50Ms),
          p90Ms: mid((r) => r.p90Ms),
          p99Ms: mid((r) => r.p99Ms),
          maxMs: mid((r) => r.maxMs),
          sendLagP99Ms: mid((r) => r.sendLagP99Ms),
          driverCpuMs: mid((r) => r.driverCpuMs),
        },
      },
    ];
  });
}

/** What the gateway (and the bare proxy) add over the upstream, per round; the floors judge the medians. */
function latencyFloors(perRound: LatencyRow[][]): {
  gatewayAdds: { p50Ms: number; p99Ms: number } | null;
  bareAdds: { p50Ms: number; p99Ms: number } | null;
  addedPerRound: {
    gateway: { p50Ms: number; p99Ms: number } | null;
    bare: { p50Ms: number; p99Ms: number } | null;
  }[];
  floors: Floor[];
} {
  const addedPerRound = perRound.map((rows) => {
    const of = (t: LatencyRow['target']) => rows.find((r) => r.target === t)?.result;
    const direct = of('direct');
    const added = (r: OpenLoopResult | undefined) =>
      r && direct ? { p50Ms: r.p50Ms - direct.p50Ms, p99Ms: r.p99Ms - direct.p99Ms } : null;
    return { gateway: added(of('gateway-open')), bare: added(of('bare-proxy')) };
  });
  const mid = (pick: (a: (typeof addedPerRound)[number]) => { p50Ms: number; p99Ms: number } | null) => {
    const xs = addedPerRound.map(pick).filter((x): x is { p50Ms: number; p99Ms: number } => x !== null);
    return xs.length === 0
      ? null
      : { p50Ms: median(xs.map((x) => x.p50Ms)), p99Ms: median(xs.map((x) => x.p99Ms)) };
  };
  const gatewayAdds = mid((a) => a.gateway);
  const bareAdds = mid((a) => a.bare);
  return {
    gatewayAdds,
    bareAdds,
    addedPerRound,
    floors: gatewayAdds
      ? [
          {
            floor:
              'issue 20: at a fixed rate, the gateway adds <= 0.8 ms at p50 over direct (median of rounds)',
            measured: gatewayAdds.p50Ms,
            verdict: gatewayAdds.p50Ms <= 0.8 ? 'met' : 'MISSED',
          },
          {
            floor:
              'issue 20: at a fixed rate, the gateway adds <= 2.5 ms at p99 over direct (median of rounds)',
            measured: gatewayAdds.p99Ms,
            verdict: gatewayAdds.p99Ms <= 2.5 ? 'met' : 'MISSED',
          },
          {
            floor: 'issue 20, CPU per request at the fixed rate: gateway / bare proxy (median of rounds)',
            measured: cpuPerRequestRatio(perRound),
            verdict: 'measured',
          },
        ]
      : [],
  };
}

/** Per round, the gateway's CPU per execute over the bare proxy's per request; their median. */
function cpuPerRequestRatio(perRound: LatencyRow[][]): number | null {
  const ratios = perRound.flatMap((rows) => {
    const gateway = rows.find((r) => r.target === 'gateway-open')?.serverCpuUs;
    const bare = rows.find((r) => r.target === 'bare-proxy')?.serverCpuUs;
    return gateway !== undefined && bare !== undefined && bare > 0 ? [gateway / bare] : [];
  });
  return ratios.length === 0 ? null : median(ratios);
}

export function latencyTable(rows: LatencyRow[]): string[][] {
  return rows.map(({ target, result: r, serverCpuUs }) => [
    target,
    fmt.int(r.sent),
    String(r.failed),
    fmt.ms(r.p50Ms),
    fmt.ms(r.p90Ms),
    fmt.ms(r.p99Ms),
    fmt.ms(r.maxMs),
    fmt.ms(r.sendLagP99Ms),
    r.driverCpuMs.toFixed(3),
    serverCpuUs === undefined ? '-' : fmt.int(serverCpuUs),
  ]);
}
