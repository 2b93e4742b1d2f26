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

function combineLoads(a: LoadResult, b: LoadResult): LoadResult {
  const total = a.total + b.total;
  const statusCodes: Record<string, number> = { ...a.statusCodes };
  for (const [code, n] of Object.entries(b.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    rate: a.rate + b.rate,
    // Two histograms cannot be merged from their percentiles: p50 weighted by volume, p99 the worse one.
    p50Ms: total > 0 ? (a.p50Ms * a.total + b.p50Ms * b.total) / total : 0,
    p99Ms: Math.max(a.p99Ms, b.p99Ms),
    total,
    non2xx: a.non2xx + b.non2xx,
    errors: a.errors + b.errors,
    mismatches: a.mismatches + b.mismatches,
    statusCodes,
    failures: [...a.failures, ...b.failures].slice(0, MAX_FAILURES_SHOWN),
    okRequestsIncludingWarmup: a.okRequestsIncludingWarmup + b.okRequestsIncludingWarmup,
  };
}
