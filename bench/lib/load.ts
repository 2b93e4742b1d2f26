import autocannon from 'autocannon';
import { Pool } from 'undici';

export interface LoadSettings {
  /** Measured seconds. */
  duration: number;
  connections: number;
  /** Seconds of load before measuring, thrown away (JIT, pools, SQLite cache). */
  warmup: number;
}

export interface LoadResult {
  /** Completed units per second over the measured window: requests, or pairs for a pair driver. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** Units measured (requests or pairs), 2xx or not. */
  total: number;
  /** HTTP requests with a status outside 2xx (a pair counts each of its requests). */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** 2xx answers whose body lacked `expectBodyIncludes`. */
  mismatches: number;
  statusCodes: Record<string, number>;
  /** The first few non-2xx answers, to say what went wrong. */
  failures: string[];
  /** Every 2xx request made, warm-up included (to compare with the ledger). */
  okRequestsIncludingWarmup: number;
}

export interface HttpTarget {
  url: string;
  path: string;
  method?: 'POST' | 'GET';
  headers?: Record<string, string>;
  body?: string;
  /** A 2xx body must contain this, else it counts as a mismatch (e.g. `"status":"succeeded"`). */
  expectBodyIncludes?: string;
}

const MAX_FAILURE_SAMPLES = 5;

/** One request shape, hammered by autocannon with keep-alive connections, in this process. */
export async function autocannonLoad(target: HttpTarget, settings: LoadSettings): Promise<LoadResult> {
  const failures: string[] = [];
  let ok = 0;
  let mismatchesAll = 0;
  const expected = target.expectBodyIncludes;
  const request: autocannon.Request = {
    method: target.method ?? 'POST',
    path: target.path,
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
    // autocannon reads every body anyway; this only looks at the status.
    onResponse: (status: number, body: string) => {
      if (status >= 200 && status < 300) {
        ok++;
        if (expected !== undefined && !body.includes(expected)) {
          mismatchesAll++;
          if (failures.length < MAX_FAILURE_SAMPLES)
            failures.push(`${status} (unexpected body) ${body.slice(0, 300)}`);
        }
      } else if (failures.length < MAX_FAILURE_SAMPLES) failures.push(`${status} ${body.slice(0, 300)}`);
    },
  };
  const options = { url: target.url, connections: settings.connections, requests: [request] };
  if (settings.warmup > 0) await autocannon({ ...options, duration: settings.warmup });
  const mismatchesBefore = mismatchesAll;
  const result = await autocannon({ ...options, duration: settings.duration });
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stat.count ?? 0;
  return {
    rate: result.requests.total / (result.duration || settings.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    mismatches: mismatchesAll - mismatchesBefore,
    statusCodes,
    failures,
    okRequestsIncludingWarmup: ok,
  };
}

export interface StepResult {
  status: number;
  body: string;
}

/**
 * `connections` workers, each running `iteration` back to back on a shared keep-alive undici Pool
 * (one connection per worker). One iteration is one unit (e.g. a prepare+execute pair); its latency is
 * the whole iteration's. For flows autocannon cannot express.
 */
export async function workerLoad(
  url: string,
  settings: LoadSettings,
  iteration: (
    send: (path: string, body: string, headers?: Record<string, string>) => Promise<StepResult>,
  ) => Promise<void>,
): Promise<LoadResult> {
  const pool = new Pool(url, { connections: settings.connections, pipelining: 1 });
  const failures: string[] = [];
  const statusCodes: Record<string, number> = {};
  let measuring = false;
  let non2xx = 0;
  let errors = 0;
  let ok = 0;
  const latencies: number[] = [];

  const send = async (
    path: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<StepResult> => {
    const res = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) ok++;
    if (measuring) {
      statusCodes[res.statusCode] = (statusCodes[res.statusCode] ?? 0) + 1;
      if (res.statusCode < 200 || res.statusCode > 299) {
        non2xx++;
        if (failures.length < MAX_FAILURE_SAMPLES)
          failures.push(`${res.statusCode} ${path} ${text.slice(0, 300)}`);
      }
    }
    return { status: res.statusCode, body: text };
  };

  let stopAt = 0;
  const worker = async () => {
    while (performance.now() < stopAt) {
      const started = performance.now();
      const wasMeasuring = measuring;
      try {
        await iteration(send);
      } catch (error) {
        if (measuring) {
          errors++;
          if (failures.length < MAX_FAILURE_SAMPLES) failures.push(`error ${String(error)}`);
        }
        continue;
      }
      // Only iterations that started and ended inside the measured window count.
      if (wasMeasuring && measuring) latencies.push(performance.now() - started);
    }
  };
  const phase = async (seconds: number) => {
    stopAt = performance.now() + seconds * 1000;
    await Promise.all(Array.from({ length: settings.connections }, worker));
  };

  if (settings.warmup > 0) await phase(settings.warmup);
  measuring = true;
  const started = performance.now();
  // End the measured window on time; workers still in flight finish afterwards and are not counted.
  const window = phase(settings.duration);
  await new Promise((resolve) => setTimeout(resolve, settings.duration * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  await window;
  await pool.close();

  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    rate: latencies.length / elapsed,
    p50Ms: pct(50),
    p99Ms: pct(99),
    total: latencies.length,
    non2xx,
    errors,
    mismatches: 0,
    statusCodes,
    failures,
    okRequestsIncludingWarmup: ok,
  };
}
