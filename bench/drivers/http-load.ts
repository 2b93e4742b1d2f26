import { MAX_FAILURES_SHOWN } from '../config.ts';
import { autocannonLoad, type HttpTarget, type LoadResult, type LoadSettings } from '../lib/load.ts';
import { haveWrk, wrkLoad } from '../lib/wrk.ts';

/**
 * The closed-loop HTTP load of one request shape: wrk (one thread, as issue 9 measured) when it is
 * installed, else autocannon in this process (BENCH_LOAD=autocannon forces autocannon).
 */
export const useWrk = process.env.BENCH_LOAD !== 'autocannon' && haveWrk();

export const httpLoad = (target: HttpTarget, s: LoadSettings): Promise<LoadResult> =>
  useWrk ? wrkLoad(target, s) : autocannonLoad(target, s);

/** Half the connections to each of two gateways at once; rates and counts add up. */
export async function splitLoad(
  urls: [string, string],
  target: Omit<HttpTarget, 'url'>,
  settings: LoadSettings,
): Promise<LoadResult> {
  const half = { ...settings, connections: Math.max(1, Math.round(settings.connections / 2)) };
  const [a, b] = await Promise.all(urls.map((url) => httpLoad({ ...target, url }, half)));
  return combineLoads(a as LoadResult, b as LoadResult);
}

/** Loads run side by side, as one: rates and counts add up; p50 weighted by volume, p99 the worst. */
export function combineLoads(...loads: LoadResult[]): LoadResult {
  const total = loads.reduce((n, l) => n + l.total, 0);
  const sum = (f: (l: LoadResult) => number) => loads.reduce((n, l) => n + f(l), 0);
  const statusCodes: Record<string, number> = {};
  for (const l of loads)
    for (const [code, n] of Object.entries(l.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    rate: sum((l) => l.rate),
    // Histograms cannot be merged from their percentiles: p50 weighted by volume, p99 the worst one.
    p50Ms: total > 0 ? sum((l) => l.p50Ms * l.total) / total : 0,
    p99Ms: Math.max(...loads.map((l) => l.p99Ms)),
    total,
    non2xx: sum((l) => l.non2xx),
    errors: sum((l) => l.errors),
    mismatches: sum((l) => l.mismatches),
    statusCodes,
    failures: loads.flatMap((l) => l.failures).slice(0, MAX_FAILURES_SHOWN),
    okRequestsIncludingWarmup: sum((l) => l.okRequestsIncludingWarmup),
  };
}
