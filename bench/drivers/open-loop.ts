import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

/**
 * An open-loop driver (issue 20): requests leave at a fixed rate, evenly spaced, whether or not the
 * earlier ones have answered, and each latency is timed from when the request was due to leave, not
 * from when a free connection let it go. A server that stalls therefore shows its stall in the
 * latencies instead of slowing the driver down (no coordinated omission), unlike a closed-loop
 * tool's averaged `overallRate`.
 *
 * The driver sleeps until each request is due and never spins: the server it measures shares this
 * machine's two cores with it, and spinning the last half millisecond before each send cost
 * 0.85–1.6 ms of CPU per request at 500 req/s (40–80% of a core, measured with process.cpuUsage),
 * which doubled the gateway's p99 by taking the core it needed. A timer wakes up to a millisecond
 * late; that lateness is counted against every target alike (latency runs from when a request was
 * due) and printed as the send lag.
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
  /** The driver's own CPU per request sent (ms): what it took from the cores the server shares. */
  driverCpuMs: number;
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
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    // Node's timers count whole milliseconds and may fire a fraction early: look again after each.
    for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) {
      await sleep(Math.ceil(wait));
    }
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
  const cpu = process.cpuUsage(cpuBefore);
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
    driverCpuMs: (cpu.user + cpu.system) / 1000 / total,
  };
}
