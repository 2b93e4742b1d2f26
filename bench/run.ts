import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepTmp, profiling, rounds, selected, settings } from './config.ts';
import { httpLoad } from './drivers/http-load.ts';
import { floorReport, printFloors } from './floors.ts';
import { inProcessFigures } from './in-process.ts';
import { benchLatency, latencyTable } from './latency.ts';
import { startServer } from './lib/spawn.ts';
import { fmt, formatTable } from './lib/table.ts';
import { benchPgSerialisation, SERIALISATION_COLUMNS, serialisationReport } from './pg-serialisation.ts';
import { benchReadPath } from './read-path.ts';
import {
  failedReports,
  printComparisons,
  printRun,
  printScenarios,
  summarise,
  writeLatest,
} from './report.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { stabilityRun } from './scenarios/stability.ts';
import type { RunsById } from './scenarios/types.ts';

/**
 * `npm run bench`: throughput of the execute path against its ceilings, measured, never a test.
 * Every server runs in its own process; the load generator (wrk with one thread when installed, else
 * autocannon, or undici workers for flows) runs here. Every scenario runs BENCH_ROUNDS times (3),
 * interleaved, and the tables report medians; the floors compare scenarios within each round.
 * The environment it reads is listed in bench/config.ts; the quickest run is one short scenario,
 * e.g. `BENCH_ONLY=direct BENCH_DURATION=1 BENCH_WARMUP=0 BENCH_ROUNDS=1 npm run bench`.
 *
 * Where things are: scenarios/ (one file per kind; index.ts lists them in run order), drivers/ (the
 * load each gateway scenario sends: REST, confirm pairs, MCP), profile.ts (BENCH_PROFILE=1),
 * floors.ts (the issues' floors), in-process.ts (policy evaluator, receipt and metrics cost),
 * report.ts (the tables and bench/results/latest.json), read-path.ts (issue 18), lib/ (load
 * generators, child processes, tables).
 */
async function main(): Promise<void> {
  const scenarios = SCENARIOS.filter((s) => selected(s.id));
  console.log(
    `warden bench: ${settings.duration} s per scenario after ${settings.warmup} s warm-up, ${settings.connections} connections, ` +
      `node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? '?'})` +
      (profiling
        ? '\n  BENCH_PROFILE=1: gateway children run with --cpu-prof; their figures are lower than real ones'
        : ''),
  );
  const root = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const upstream = await startServer('upstream');
  const runs: RunsById = new Map();
  let stability: number[] | undefined;
  let readPath: Record<string, unknown> = { skipped: 'BENCH_ONLY' };
  let latency: Awaited<ReturnType<typeof benchLatency>> | undefined;
  let serialisation: Awaited<ReturnType<typeof benchPgSerialisation>> | undefined;
  try {
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) console.log(`round ${round} of ${rounds}`);
      for (const scenario of scenarios) {
        process.stdout.write(`- ${scenario.label} … `);
        const dir = join(root, `${scenario.id}-${round}`);
        mkdirSync(dir);
        const run = await scenario.run({ upstream, settings, dir, profiling });
        printRun(scenario, run);
        const entry = runs.get(scenario.id) ?? { scenario, loads: [] };
        entry.loads.push(run);
        runs.set(scenario.id, entry);
      }
    }
    if (selected('stability')) {
      const dir = join(root, 'stability');
      mkdirSync(dir);
      stability = await stabilityRun(upstream, dir, settings);
    }
    if (selected('read-path')) {
      const dir = join(root, 'read-path');
      mkdirSync(dir);
      readPath = await benchReadPath({ upstreamUrl: upstream.url, dir, settings, rounds, httpLoad });
    }
    if (selected('latency')) {
      const dir = join(root, 'latency');
      mkdirSync(dir);
      latency = await benchLatency(upstream, settings, dir, rounds);
    }
    if (selected('pg-serialisation')) {
      const dir = join(root, 'pg-serialisation');
      mkdirSync(dir);
      serialisation = await benchPgSerialisation(upstream.url, settings, dir);
    }
  } finally {
    await upstream.stop();
    if (keepTmp) console.log(`kept ${root} (databases, logs, profiles)`);
    else rmSync(root, { recursive: true, force: true });
  }

  const reports = summarise(runs);
  printScenarios(reports);
  const floors = [...floorReport(runs, stability), ...(latency?.floors ?? [])];
  printFloors(floors);
  if (latency) {
    console.log(
      `\nissue 20: latency at a fixed ${latency.rate} req/s, open loop (timed from when each request was due):`,
    );
    console.log(
      formatTable(
        [
          'target',
          'requests',
          'failed',
          'p50 ms',
          'p90 ms',
          'p99 ms',
          'max ms',
          'send lag p99 ms',
          'driver CPU ms/req',
          'server CPU µs/req',
        ],
        latencyTable(latency.rows),
      ),
    );
    if (latency.rounds.length > 1) {
      const added = (a: { p50Ms: number; p99Ms: number } | null) =>
        a ? `+${fmt.ms(a.p50Ms)} / +${fmt.ms(a.p99Ms)}` : '-';
      console.log(
        `(medians of ${latency.rounds.length} rounds; added p50 / p99 per round: gateway ${latency.addedPerRound
          .map((a) => added(a.gateway))
          .join(', ')}; bare proxy ${latency.addedPerRound.map((a) => added(a.bare)).join(', ')})`,
      );
    }
  }
  let serialisationFigures: ReturnType<typeof serialisationReport> | undefined;
  if (serialisation) {
    serialisationFigures = serialisationReport(serialisation);
    console.log('\nissue 20: two PostgreSQL replicas, the same load over one workspace and over eight:');
    console.log(formatTable(SERIALISATION_COLUMNS, serialisationFigures.rows));
    for (const line of serialisationFigures.floors) console.log(`  ${line}`);
  }
  printComparisons(reports);
  const figures = await inProcessFigures();
  writeLatest({
    reports,
    figures,
    readPath,
    floors,
    stability,
    latency: latency ?? null,
    serialisation: serialisation ? { runs: serialisation, floors: serialisationFigures?.floors } : null,
  });

  const failed = failedReports(reports);
  if (failed.length > 0) {
    console.log(
      `\n!!!!!!!! RUN HAD ERRORS in ${failed.map((r) => r.id).join(', ')}: the figures above are not valid !!!!!!!!`,
    );
    process.exitCode = 1;
  }
}

await main();
