import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GATEWAY_LOG_LEVEL, MAX_FAILURES_SHOWN, profiling, settings } from './config.ts';
import { useWrk } from './drivers/http-load.ts';
import type { Floor } from './floors.ts';
import type { inProcessFigures } from './in-process.ts';
import type { LoadResult } from './lib/load.ts';
import type { ProfileSummary } from './lib/profile.ts';
import { median } from './lib/stats.ts';
import { fmt, formatTable } from './lib/table.ts';
import { printProfile } from './profile.ts';
import type { RunsById, Scenario, ScenarioRun } from './scenarios/types.ts';

/**
 * What a run prints and what it leaves in bench/results/latest.json: each scenario's medians over
 * its rounds, its ratios to the direct upstream and the bare proxy, and the tables. The JSON's shape
 * is read by people and scripts comparing runs: add keys, never rename one.
 */

export interface ScenarioReport {
  id: string;
  label: string;
  unit: Scenario['unit'];
  rate: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  mismatches: number;
  statusCodes: Record<string, number>;
  vsDirect: number | null;
  vsBareProxy: number | null;
  failures: string[];
  notes: string[];
  data?: Record<string, unknown>;
  profile?: ProfileSummary;
}

/** The line a scenario prints as each of its runs finishes. */
export function printRun(scenario: Scenario, run: ScenarioRun): void {
  const { load } = run;
  console.log(
    `${fmt.int(load.rate)} ${scenario.unit}, p50 ${fmt.ms(load.p50Ms)} ms, p99 ${fmt.ms(load.p99Ms)} ms`,
  );
  for (const note of run.notes) console.log(`    ${note}`);
  const bad = load.non2xx + load.errors + load.mismatches;
  if (bad > 0) {
    console.log(
      `    !!! ${load.non2xx} non-2xx, ${load.errors} errors, ${load.mismatches} unexpected bodies; status codes ${JSON.stringify(load.statusCodes)}`,
    );
    for (const failure of load.failures) console.log(`    !!! ${failure}`);
  }
}

/** One report per scenario: the medians of its rounds, its sums of failures, its last run's notes. */
export function summarise(runs: RunsById): ScenarioReport[] {
  const reports: ScenarioReport[] = [...runs.values()].map(({ scenario, loads }) => {
    const last = loads.at(-1) as ScenarioRun;
    const sum = (f: (l: LoadResult) => number) => loads.reduce((n, r) => n + f(r.load), 0);
    return {
      id: scenario.id,
      label: scenario.label,
      unit: scenario.unit,
      rate: median(loads.map((r) => r.load.rate)),
      p50Ms: median(loads.map((r) => r.load.p50Ms)),
      p99Ms: median(loads.map((r) => r.load.p99Ms)),
      non2xx: sum((l) => l.non2xx),
      errors: sum((l) => l.errors),
      mismatches: sum((l) => l.mismatches),
      statusCodes: last.load.statusCodes,
      vsDirect: null,
      vsBareProxy: null,
      failures: loads.flatMap((r) => r.load.failures).slice(0, MAX_FAILURES_SHOWN),
      notes: last.notes,
      data: {
        ...last.data,
        rounds: loads.map((r) => ({ rate: r.load.rate, p50Ms: r.load.p50Ms, p99Ms: r.load.p99Ms })),
      },
      profile: last.profile,
    };
  });

  const directRate = reports.find((r) => r.id === 'direct')?.rate;
  const bareRate = reports.find((r) => r.id === 'bare-proxy')?.rate;
  for (const r of reports) {
    r.vsDirect = directRate ? r.rate / directRate : null;
    r.vsBareProxy = bareRate ? r.rate / bareRate : null;
  }
  // PostgreSQL against the SQLite file, open execute, same run and machine (issue 5).
  const sqliteOpen = sqliteOpenRate(reports);
  for (const r of onPostgres(reports))
    r.data = { ...r.data, vsSqliteOpen: sqliteOpen ? r.rate / sqliteOpen : null };
  // Issue 24: tracing off against no tracing code, over every round of the standards' run.
  const standards = reports.find((r) => r.id === 'standards-cost');
  const standardsRuns = runs.get('standards-cost');
  if (standards && standardsRuns)
    standards.data = { ...standards.data, tracingOffVsNoCode: acrossRounds(standardsRuns.loads) };
  return reports;
}

interface HooksCost {
  rounds: number;
  /** Rate with tracing off over the rate without tracing hooks: the median of the rounds, and their range. */
  rateRatio: number;
  rateRatioRange: [number, number];
  /** CPU per answer, likewise (off over none); null when /proc could not be read. */
  cpuRatio: number | null;
  cpuRatioRange: [number, number] | null;
  /** The noise: how far the baseline's own rate moved between rounds, (max − min) / median; null in one round. */
  baselineSpread: number | null;
}

function acrossRounds(loads: ScenarioRun[]): HooksCost | null {
  const perRound = loads.flatMap((r) => {
    const figures = r.data?.tracingOffVsNoCode as { rateRatio: number; cpuRatio?: number } | undefined;
    return figures ? [figures] : [];
  });
  if (perRound.length === 0) return null;
  const rates = perRound.map((f) => f.rateRatio);
  const cpus = perRound.flatMap((f) => (f.cpuRatio === undefined ? [] : [f.cpuRatio]));
  const baseline = loads.map((r) => r.load.rate);
  const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];
  return {
    rounds: perRound.length,
    rateRatio: median(rates),
    rateRatioRange: range(rates),
    cpuRatio: cpus.length > 0 ? median(cpus) : null,
    cpuRatioRange: cpus.length > 0 ? range(cpus) : null,
    baselineSpread:
      baseline.length > 1 ? (Math.max(...baseline) - Math.min(...baseline)) / median(baseline) : null,
  };
}

const sqliteOpenRate = (reports: ScenarioReport[]) => reports.find((r) => r.id === 'gateway-open')?.rate;
const onPostgres = (reports: ScenarioReport[]) => reports.filter((r) => r.id.startsWith('gateway-open-pg'));

/** The CPU profiles (BENCH_PROFILE=1), then the table of every scenario. */
export function printScenarios(reports: ScenarioReport[]): void {
  for (const r of reports) if (r.profile) printProfile(r.label, r.profile);

  console.log();
  console.log(
    formatTable(
      ['scenario', 'rate', 'unit', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'vs direct', 'vs bare proxy'],
      reports.map((r) => [
        r.label,
        fmt.int(r.rate),
        r.unit,
        fmt.ms(r.p50Ms),
        fmt.ms(r.p99Ms),
        String(r.non2xx),
        String(r.errors + r.mismatches),
        fmt.ratio(r.vsDirect),
        fmt.ratio(r.vsBareProxy),
      ]),
    ),
  );
  console.log(
    (useWrk
      ? '(wrk, one thread: latencies per request; in confirm mode each connection alternates prepare and execute,\n' +
        ' and a pair is an execute that succeeded;'
      : '(autocannon latencies are whole milliseconds; pairs are timed by undici workers, prepare+execute end to end;') +
      '\n on 2 cores the load generator shares the CPUs with the servers, so every figure is for this machine only)',
  );
}

/**
 * The same-run comparisons printed after the floors: the 50-rule policy, tracing off against no
 * tracing code, and PostgreSQL against SQLite.
 */
export function printComparisons(reports: ScenarioReport[]): void {
  const sqliteOpen = sqliteOpenRate(reports);
  const withPolicy = reports.find((r) => r.id === 'gateway-open-policy');
  if (withPolicy && sqliteOpen) {
    console.log(
      `\nopen execute with a 50-rule, 3-limit policy vs with none (same run): ${fmt.ratio(withPolicy.rate / sqliteOpen)}`,
    );
  }
  const hooks = reports.find((r) => r.id === 'standards-cost')?.data?.tracingOffVsNoCode as
    | HooksCost
    | null
    | undefined;
  if (hooks) {
    const r = (n: number) => n.toFixed(3);
    const noise = hooks.baselineSpread;
    const verdict =
      noise === null
        ? 'one round: no noise figure (BENCH_ROUNDS=3 gives one)'
        : `the baseline moved ${(noise * 100).toFixed(1)}% between rounds: ${
            Math.abs(hooks.rateRatio - 1) <= noise ? 'within' : 'OUTSIDE'
          } noise`;
    console.log(
      `\ntracing off vs no tracing code (same run, ${hooks.rounds} round${hooks.rounds > 1 ? 's' : ''}): rate × ${r(hooks.rateRatio)} ` +
        `(rounds ${r(hooks.rateRatioRange[0])}–${r(hooks.rateRatioRange[1])})` +
        (hooks.cpuRatio === null || !hooks.cpuRatioRange
          ? ''
          : `, CPU per answer × ${r(hooks.cpuRatio)} (rounds ${r(hooks.cpuRatioRange[0])}–${r(hooks.cpuRatioRange[1])})`) +
        `; ${verdict}`,
    );
  }
  const pg = onPostgres(reports);
  if (pg.length > 0) {
    console.log(
      `\nopen execute on PostgreSQL vs the SQLite file (same run): ${pg
        .map(
          (r) =>
            `${r.label.replace('gateway execute (open, PostgreSQL, ', '').replace(')', '')} ${fmt.ratio(sqliteOpen ? r.rate / sqliteOpen : null)}`,
        )
        .join(', ')}`,
    );
  }
}

/** The scenarios that had a non-2xx answer, an error or an unexpected body: the run's figures are void. */
export const failedReports = (reports: ScenarioReport[]): ScenarioReport[] =>
  reports.filter((r) => r.non2xx + r.errors + r.mismatches > 0);

/** Writes bench/results/latest.json (keys in this order; readers depend on the names). */
export function writeLatest(results: {
  reports: ScenarioReport[];
  figures: Awaited<ReturnType<typeof inProcessFigures>>;
  readPath: Record<string, unknown>;
  floors: Floor[];
  stability: number[] | undefined;
  /** Issue 20: open-loop latency, and PostgreSQL serialisation over one and eight workspaces. */
  latency?: unknown;
  serialisation?: unknown;
}): void {
  const { reports, figures, readPath, floors, stability, latency = null, serialisation = null } = results;
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'latest.json'),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cores: availableParallelism(),
        cpu: cpus()[0]?.model.trim(),
        settings,
        gatewayLogLevel: GATEWAY_LOG_LEVEL,
        profiling,
        ok: failedReports(reports).length === 0,
        scenarios: reports.map(({ profile, ...r }) => ({
          ...r,
          profile: profile && {
            modules: profile.modules,
            functions: profile.functions,
            projectInclusive: profile.projectInclusive,
          },
        })),
        policyEvaluator: figures.policyEvaluator,
        receiptCost: figures.receiptCost,
        metricsCost: figures.metricsCost,
        readPath,
        floors,
        stability: stability ?? null,
        latency,
        serialisation,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results: bench/results/latest.json`);
}
