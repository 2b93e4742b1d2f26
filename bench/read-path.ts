import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { HttpTarget, LoadResult, LoadSettings } from './lib/load.ts';
import { startServer } from './lib/spawn.ts';
import { fmt, formatTable } from './lib/table.ts';

/**
 * Issue 18, the read path: a production gateway on a SQLite file whose ledger holds 100,000
 * transactions over 30 days (BENCH_LEDGER_TRANSACTIONS; bench/setup/ledger-seed.ts writes them
 * straight into the tables), then, each for BENCH_DURATION seconds:
 * - reads: BENCH_READERS (5) clients in a loop on GET /v1/transactions/summary?interval=month and
 *   GET /v1/analytics (30 days), alternately: their p50 and p99;
 * - executes: the open execute load of gateway-open alone: its rate, p50 and p99;
 * - executes + reads: both at once: how much the reads cost the executes.
 * Meanwhile GET /health is timed every 20 ms, and the gateway's own event-loop delay is read from
 * /metrics (prom-client's monitorEventLoopDelay, reset by each scrape: one scrape before a phase,
 * one after). The execute phases run BENCH_ROUNDS times, interleaved; the table shows medians.
 */

const SECRETS_KEY = 'bench-secrets-key-0123456789abcdef-0123456789';
const AGENT_BODY = JSON.stringify({ businessId: 'shop', request: { sku: 'x', amount_cents: 50 } });
const SUCCEEDED = '"status":"succeeded"';
const READERS = Math.max(1, Number(process.env.BENCH_READERS ?? 5));
const READS = ['/v1/transactions/summary?interval=month&policy=reporting', '/v1/analytics'] as const;

type HttpLoad = (target: HttpTarget, settings: LoadSettings) => Promise<LoadResult>;

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
};
const median = (values: number[]): number => percentile(values, 0.5);

interface Phase {
  phase: string;
  execute?: { rate: number; p50Ms: number; p99Ms: number; errors: number };
  reads: Record<string, { count: number; p50Ms: number; p99Ms: number; errors: number }>;
  health: { count: number; p99Ms: number; maxMs: number };
  loopDelay: { p99Ms: number; maxMs: number };
}

/** The gateway's event-loop delay since the previous scrape (prom-client resets it on each). */
async function loopDelay(url: string): Promise<{ p99Ms: number; maxMs: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const gauge = (name: string) =>
    Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    p99Ms: gauge('nodejs_eventloop_lag_p99_seconds') * 1000,
    maxMs: gauge('nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

/** Runs `work` while readers (when asked) and a /health prober run against the gateway. */
async function phase(
  name: string,
  url: string,
  token: string,
  seconds: number,
  readers: number,
  work: () => Promise<LoadResult | undefined>,
): Promise<Phase> {
  await loopDelay(url);
  let running = true;
  const latencies = new Map<string, number[]>(READS.map((path) => [path, []]));
  const errors = new Map<string, number>(READS.map((path) => [path, 0]));
  const reader = async (i: number) => {
    for (let n = i; running; n++) {
      const path = READS[n % READS.length] as string;
      const started = performance.now();
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await res.text();
      if (res.status !== 200) errors.set(path, (errors.get(path) ?? 0) + 1);
      else latencies.get(path)?.push(performance.now() - started);
    }
  };
  const health: number[] = [];
  const prober = async () => {
    while (running) {
      const started = performance.now();
      await (await fetch(`${url}/health`)).text();
      health.push(performance.now() - started);
      await sleep(20);
    }
  };
  const loops = [...Array.from({ length: readers }, (_, i) => reader(i)), prober()];
  let load: LoadResult | undefined;
  try {
    load = await work();
    if (!load) await sleep(seconds * 1000);
  } finally {
    running = false;
    await Promise.all(loops);
  }
  return {
    phase: name,
    execute: load && {
      rate: load.rate,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      errors: load.non2xx + load.errors + load.mismatches,
    },
    reads: Object.fromEntries(
      readers === 0
        ? []
        : READS.map((path) => {
            const xs = latencies.get(path) ?? [];
            return [
              path,
              {
                count: xs.length,
                p50Ms: percentile(xs, 0.5),
                p99Ms: percentile(xs, 0.99),
                errors: errors.get(path) ?? 0,
              },
            ];
          }),
    ),
    health: { count: health.length, p99Ms: percentile(health, 0.99), maxMs: Math.max(0, ...health) },
    loopDelay: await loopDelay(url),
  };
}

export async function benchReadPath(options: {
  upstreamUrl: string;
  dir: string;
  settings: LoadSettings;
  rounds: number;
  httpLoad: HttpLoad;
}): Promise<Record<string, unknown>> {
  const { dir, settings } = options;
  const out = join(dir, 'read-path.json');
  const logFd = openSync(join(dir, 'gateway.log'), 'w');
  process.stdout.write('- read path: seeding the ledger … ');
  const started = Date.now();
  const gateway = await startServer('gateway', {
    stdout: logFd,
    startTimeoutMs: 600_000,
    env: {
      NODE_ENV: 'production',
      SECRETS_KEY,
      EGRESS_ALLOW_PRIVATE: 'true',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: `file:${join(dir, 'warden.db')}`,
      UPSTREAM_URL: options.upstreamUrl,
      AGENR_EXECUTE_POLICY: 'open',
      BENCH_GATEWAY_SETUP: fileURLToPath(new URL('./setup/ledger-seed.ts', import.meta.url)),
      BENCH_READ_OUT: out,
    },
  });
  try {
    const seed = JSON.parse(readFileSync(out, 'utf8')) as {
      token: string;
      transactions: number;
      seedMs: number;
    };
    console.log(
      `${fmt.int(seed.transactions)} transactions in ${(seed.seedMs / 1000).toFixed(1)} s (gateway up after ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    const url = gateway.url;
    for (const path of READS) {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${seed.token}` } });
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
      await res.text();
    }
    const executes = () =>
      options.httpLoad(
        {
          url,
          path: '/agp/execute',
          headers: { authorization: `Bearer ${String(gateway.info.key)}` },
          body: AGENT_BODY,
          expectBodyIncludes: SUCCEEDED,
        },
        settings,
      );
    const seconds = settings.duration + settings.warmup;
    const phases: Phase[] = [];
    phases.push(await phase('reads alone', url, seed.token, seconds, READERS, async () => undefined));
    for (let round = 0; round < options.rounds; round++) {
      phases.push(await phase('executes alone', url, seed.token, seconds, 0, executes));
      phases.push(await phase('executes + reads', url, seed.token, seconds, READERS, executes));
    }
    const byName = (name: string) => phases.filter((p) => p.phase === name);
    const summarise = (name: string) => {
      const ps = byName(name);
      const m = (f: (p: Phase) => number | undefined) => {
        const xs = ps.map(f).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
        return xs.length ? median(xs) : null;
      };
      return {
        phase: name,
        rounds: ps.length,
        executeRate: m((p) => p.execute?.rate),
        executeP50Ms: m((p) => p.execute?.p50Ms),
        executeP99Ms: m((p) => p.execute?.p99Ms),
        executeErrors: ps.reduce((n, p) => n + (p.execute?.errors ?? 0), 0),
        summaryP50Ms: m((p) => p.reads[READS[0]]?.p50Ms),
        summaryP99Ms: m((p) => p.reads[READS[0]]?.p99Ms),
        summaryCount: m((p) => p.reads[READS[0]]?.count),
        analyticsP50Ms: m((p) => p.reads[READS[1]]?.p50Ms),
        analyticsP99Ms: m((p) => p.reads[READS[1]]?.p99Ms),
        analyticsCount: m((p) => p.reads[READS[1]]?.count),
        readErrors: ps.reduce((n, p) => n + Object.values(p.reads).reduce((k, r) => k + r.errors, 0), 0),
        healthP99Ms: m((p) => p.health.p99Ms),
        healthMaxMs: m((p) => p.health.maxMs),
        loopDelayP99Ms: m((p) => p.loopDelay.p99Ms),
        loopDelayMaxMs: m((p) => p.loopDelay.maxMs),
      };
    };
    const rows = ['reads alone', 'executes alone', 'executes + reads'].map(summarise);
    const cell = (v: number | null, f: (x: number) => string = fmt.ms) => (v === null ? '-' : f(v));
    console.log(
      `\nread path, ${fmt.int(seed.transactions)} transactions (SQLite), ${READERS} readers (summary of a month, analytics of 30 days), ` +
        `executes at ${settings.connections} connections, ${settings.duration} s (+${settings.warmup} s warm-up) per phase, medians of ${options.rounds}:`,
    );
    console.log(
      formatTable(
        [
          'phase',
          'execute/s',
          'exec p50',
          'exec p99',
          'summary p50',
          'summary p99',
          'analytics p50',
          'analytics p99',
          '/health p99',
          '/health max',
          'loop delay p99',
          'loop delay max',
        ],
        rows.map((r) => [
          r.phase,
          cell(r.executeRate, fmt.int),
          cell(r.executeP50Ms),
          cell(r.executeP99Ms),
          cell(r.summaryP50Ms),
          cell(r.summaryP99Ms),
          cell(r.analyticsP50Ms),
          cell(r.analyticsP99Ms),
          cell(r.healthP99Ms),
          cell(r.healthMaxMs),
          cell(r.loopDelayP99Ms),
          cell(r.loopDelayMaxMs),
        ]),
      ),
    );
    console.log(
      "(ms; loop delay: the gateway's monitorEventLoopDelay between two /metrics scrapes, 10 ms resolution)",
    );
    const errors = rows.reduce((n, r) => n + r.executeErrors + r.readErrors, 0);
    if (errors > 0) console.log(`!!! ${errors} failed requests in the read path phases`);
    return {
      transactions: seed.transactions,
      seedMs: seed.seedMs,
      readers: READERS,
      reads: READS,
      rows,
      phases,
      errors,
    };
  } finally {
    await gateway.stop();
    closeSync(logFd);
  }
}
