import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { AGENT_BODY, BENCH_POSTGRES_URL, productionGatewayEnv, SUCCEEDED } from './config.ts';
import { combineLoads, splitLoad } from './drivers/http-load.ts';
import { type DelayProxy, startDelayProxy } from './lib/delay-proxy.ts';
import type { LoadResult, LoadSettings } from './lib/load.ts';
import { type ServerHandle, startServer } from './lib/spawn.ts';
import { fmt } from './lib/table.ts';

/**
 * Issue 20: serialisation rather than CPU. Two replicas on one PostgreSQL database, the same total
 * load (closed loop) over one workspace and spread over eight, with and without a policy of three
 * spending limits (whose admissions read spend under the workspace's lock), with PostgreSQL on
 * loopback and behind a proxy that adds 0.5 ms each way. Reported with each: the lock's hold time
 * per locked transaction (warden_db_workspace_lock_hold_seconds, both replicas) and the sequencer's
 * lag (a receipt's commit to its append to the log, from the rows).
 */
export interface SerialisationRun {
  delayMs: number;
  limits: boolean;
  shape: 'one' | 'eight';
  load: LoadResult;
  lockHoldMeanMs: number | null;
  lockHeldPerSecond: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  measuredOneWayMs: number | null;
}

const SETUP = fileURLToPath(new URL('./setup/eight-workspaces.ts', import.meta.url));

export async function benchPgSerialisation(upstreamUrl: string, settings: LoadSettings, dir: string) {
  const runs: SerialisationRun[] = [];
  for (const delayMs of [0, 0.5]) {
    for (const limits of [false, true]) {
      runs.push(...(await configuration(upstreamUrl, settings, dir, delayMs, limits)));
    }
  }
  return runs;
}

async function configuration(
  upstreamUrl: string,
  settings: LoadSettings,
  dir: string,
  delayMs: number,
  limits: boolean,
): Promise<SerialisationRun[]> {
  const schema = `warden_bench_ser_${process.pid}_${delayMs > 0 ? 'd' : 'n'}${limits ? 'l' : 'o'}`;
  const admin = postgres(BENCH_POSTGRES_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop schema if exists "${schema}" cascade`);
  const target = new URL(BENCH_POSTGRES_URL);
  let proxy: DelayProxy | undefined;
  if (delayMs > 0) {
    proxy = await startDelayProxy({ host: target.hostname, port: Number(target.port || 5432) }, delayMs);
    target.hostname = proxy.host;
    target.port = String(proxy.port);
  }
  target.searchParams.set('options', `-c search_path=${schema}`);
  const databaseUrl = target.toString();
  const keysFile = join(dir, `keys-${schema}.json`);
  const env = {
    ...productionGatewayEnv(databaseUrl),
    UPSTREAM_URL: upstreamUrl,
    AGENR_EXECUTE_POLICY: 'open',
  };
  const servers: ServerHandle[] = [];
  try {
    const a = await startServer('gateway', {
      env: {
        ...env,
        BENCH_GATEWAY_SETUP: SETUP,
        BENCH_KEYS_FILE: keysFile,
        BENCH_LIMITS: limits ? '1' : '0',
      },
    });
    servers.push(a);
    const b = await startServer('replica', { env });
    servers.push(b);
    const keys = [a.info.key as string, ...(JSON.parse(readFileSync(keysFile, 'utf8')) as string[])];
    const urls: [string, string] = [a.url, b.url];
    const shoot = (key: string, s: LoadSettings) =>
      splitLoad(
        urls,
        {
          path: '/agp/execute',
          headers: { authorization: `Bearer ${key}` },
          body: AGENT_BODY,
          expectBodyIncludes: SUCCEEDED,
        },
        s,
      );
    const out: SerialisationRun[] = [];
    for (const shape of ['one', 'eight'] as const) {
      const before = await lockHold(urls);
      const started = Date.now();
      const load =
        shape === 'one'
          ? await shoot(keys[0] as string, settings)
          : combineLoads(
              ...(await Promise.all(
                keys.map((key) =>
                  shoot(key, { ...settings, connections: Math.max(2, Math.round(settings.connections / 8)) }),
                ),
              )),
            );
      const seconds = (Date.now() - started) / 1000;
      const after = await lockHold(urls);
      const count = after.count - before.count;
      out.push({
        delayMs,
        limits,
        shape,
        load,
        lockHoldMeanMs: count > 0 ? ((after.sum - before.sum) / count) * 1000 : null,
        lockHeldPerSecond: count / seconds,
        lagP50Ms: null,
        lagP99Ms: null,
        measuredOneWayMs: proxy ? proxy.measuredOneWayMs() : null,
      });
    }
    // Let the sequencers finish, then the lag of every receipt: commit (created_at) → appended.
    await new Promise((r) => setTimeout(r, 2_000));
    const [lag] = await admin.unsafe<{ p50: number | null; p99: number | null }[]>(
      `select percentile_cont(0.5) within group (order by e.appended_at - r.created_at) as p50,
              percentile_cont(0.99) within group (order by e.appended_at - r.created_at) as p99
       from "${schema}".ledger_entries e join "${schema}".receipts r on e.kind = 'receipt' and r.transaction_id = e.ref`,
    );
    for (const run of out) {
      run.lagP50Ms = lag?.p50 === null || lag?.p50 === undefined ? null : Number(lag.p50);
      run.lagP99Ms = lag?.p99 === null || lag?.p99 === undefined ? null : Number(lag.p99);
    }
    return out;
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await proxy?.close();
    await admin.unsafe(`drop schema if exists "${schema}" cascade`).catch(() => {});
    await admin.end({ timeout: 5 });
  }
}

/** Both replicas' lock-hold histograms, summed: seconds in all and transactions that held it. */
async function lockHold(urls: string[]): Promise<{ sum: number; count: number }> {
  let sum = 0;
  let count = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    sum += read('warden_db_workspace_lock_hold_seconds_sum');
    count += read('warden_db_workspace_lock_hold_seconds_count');
  }
  return { sum, count };
}

/** The table and the floors of issue 20 from these runs. */
export function serialisationReport(runs: SerialisationRun[]): { rows: string[][]; floors: string[] } {
  const rows = runs.map((r) => [
    `${r.delayMs > 0 ? `+${r.delayMs} ms each way (measured ${fmt.ms(r.measuredOneWayMs ?? 0)})` : 'loopback'}`,
    r.limits ? '3 limits' : 'no policy',
    r.shape === 'one' ? '1 workspace' : '8 workspaces',
    fmt.int(r.load.rate),
    fmt.ms(r.load.p50Ms),
    fmt.ms(r.load.p99Ms),
    String(r.load.non2xx + r.load.errors),
    r.lockHoldMeanMs === null ? '—' : fmt.ms(r.lockHoldMeanMs),
    fmt.int(r.lockHeldPerSecond),
    r.lagP99Ms === null ? '—' : fmt.int(r.lagP99Ms),
  ]);
  const rate = (delay: number, limits: boolean, shape: 'one' | 'eight') =>
    runs.find((r) => r.delayMs === delay && r.limits === limits && r.shape === shape)?.load.rate ??
    Number.NaN;
  const check = (label: string, value: number, ok: boolean) =>
    `${label}: ${value.toFixed(2)} ${ok ? 'met' : 'MISSED'}`;
  const oneVsEight = rate(0.5, false, 'one') / rate(0.5, false, 'eight');
  const eightVsOne = rate(0.5, false, 'eight') / rate(0.5, false, 'one');
  const eightVsOneLoop = rate(0, false, 'eight') / rate(0, false, 'one');
  const eightVsOneLimits = rate(0.5, true, 'eight') / rate(0.5, true, 'one');
  return {
    rows,
    floors: [
      check('+0.5 ms, no policy: one workspace / eight workspaces >= 0.80', oneVsEight, oneVsEight >= 0.8),
      check('+0.5 ms, no policy: eight workspaces / one workspace >= 1.00', eightVsOne, eightVsOne >= 1),
      check(
        'loopback, no policy: eight workspaces / one workspace >= 1.00',
        eightVsOneLoop,
        eightVsOneLoop >= 1,
      ),
      check(
        '+0.5 ms, 3 limits: eight workspaces / one workspace >= 1.00',
        eightVsOneLimits,
        eightVsOneLimits >= 1,
      ),
    ],
  };
}

export const SERIALISATION_COLUMNS = [
  'postgres',
  'policy',
  'load over',
  'req/s',
  'p50 ms',
  'p99 ms',
  'failed',
  'lock hold ms (mean)',
  'locked tx/s',
  'seq. lag p99 ms',
];
