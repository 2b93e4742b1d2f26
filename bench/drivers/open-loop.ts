import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

/**
 * An open-loop driver (issue 20): requests leave at a fixed rate, evenly spaced, whether or not the
 * earlier ones have answered, and each latency is timed from when the request was due to leave, not
 * from when a free connection let it go. A server that stalls therefore shows its stall in the
 * latencies instead of slowing the driver down (no coordinated omission), unlike a closed-loop
 * tool's averaged `overallRate`.
 */
export interface OpenLoopTarget {
  url: string;
  path: string;
  headers?: Record<string, string>;
  body: string;
  /** A 2xx body must contain this. */
  expectBodyIncludes?: string;
}

export interface OpenLoopResult {
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** How late the driver itself sent, p99 (ms): above a millisecond or two the figures mean little. */
  sendLagP99Ms: number;
}

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

export async function openLoop(
  target: OpenLoopTarget,
  options: { rate: number; seconds: number; warmupSeconds: number; connections?: number },
): Promise<OpenLoopResult> {
  const pool = new Pool(target.url, { connections: options.connections ?? 64, pipelining: 1 });
  const headers = { 'content-type': 'application/json', ...target.headers };
  const interval = 1000 / options.rate;
  const total = Math.round((options.seconds + options.warmupSeconds) * options.rate);
  const warm = Math.round(options.warmupSeconds * options.rate);
  const latencies: number[] = [];
  const lags: number[] = [];
  let ok = 0;
  let failed = 0;
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait - 0.5);
    // The last half millisecond spun, so requests leave on time rather than on the timer's tick.
    while (performance.now() < due) {}
    const measured = i >= warm;
    if (measured) lags.push(performance.now() - due);
    inflight.push(
      pool
        .request({ path: target.path, method: 'POST', headers, body: target.body })
        .then(async (res) => {
          const text = await res.body.text();
          const good =
            res.statusCode >= 200 &&
            res.statusCode < 300 &&
            (!target.expectBodyIncludes || text.includes(target.expectBodyIncludes));
          if (!measured) return;
          latencies.push(performance.now() - due);
          if (good) ok++;
          else failed++;
        })
        .catch(() => {
          if (measured) failed++;
        }),
    );
  }
  await Promise.all(inflight);
  await pool.close();
  const sorted = latencies.sort((a, b) => a - b);
  const lagSorted = lags.sort((a, b) => a - b);
  return {
    rate: options.rate,
    sent: total - warm,
    ok,
    failed,
    p50Ms: quantile(sorted, 0.5),
    p90Ms: quantile(sorted, 0.9),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? Number.NaN,
    sendLagP99Ms: quantile(lagSorted, 0.99),
  };
}
