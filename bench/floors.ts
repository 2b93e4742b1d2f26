import type { LoadResult } from './lib/load.ts';
import { median } from './lib/stats.ts';
import { formatTable } from './lib/table.ts';
import type { RunsById, ScenarioRun } from './scenarios/types.ts';

/**
 * The floors of issues 9 to 13: each a ratio between two scenarios of the same round (the median of
 * the per-round ratios), met or missed against the figure its issue set. A new floor is an entry in
 * floorReport's list; a ratio an issue asks for without a floor has the verdict `measured`.
 */

export interface Floor {
  floor: string;
  measured: number | null;
  /** `measured`: a ratio the issue asks for without a floor (issue 13: MCP vs REST). */
  verdict: 'met' | 'MISSED' | 'n/a' | 'measured';
}

/** The worst round's sequencer lag p99 (ms) of a SQLite gateway scenario (gateway.ts records it). */
function worstLag(runs: RunsById, id: string): number | null {
  const lags = (runs.get(id)?.loads ?? [])
    .map((run) => (run.data?.sequencerLag as { p99Ms?: number | null } | undefined)?.p99Ms)
    .filter((v): v is number => typeof v === 'number');
  return lags.length === 0 ? null : Math.max(...lags);
}

/** The floors of issues 9 and 10, from the rounds that ran every scenario a floor compares. */
export function floorReport(runs: RunsById, stability: number[] | undefined): Floor[] {
  const perRound = (a: string, b: string, f: (x: LoadResult, y: LoadResult) => number): number | null => {
    const xs = runs.get(a)?.loads;
    const ys = runs.get(b)?.loads;
    if (!xs || !ys) return null;
    const n = Math.min(xs.length, ys.length);
    return n === 0
      ? null
      : median(
          Array.from({ length: n }, (_, i) => f((xs[i] as ScenarioRun).load, (ys[i] as ScenarioRun).load)),
        );
  };
  const rate = (a: string, b: string) => perRound(a, b, (x, y) => x.rate / y.rate);
  const cpuRatio = (a: string, b: string): number | null => {
    const cpu = (id: string) =>
      (runs.get(id)?.loads ?? [])
        .map((run) => run.data?.cpuUsPerRequest)
        .filter((v) => typeof v === 'number');
    const xs = cpu(a);
    const ys = cpu(b);
    const n = Math.min(xs.length, ys.length);
    return n === 0
      ? null
      : median(Array.from({ length: n }, (_, i) => (xs[i] as number) / (ys[i] as number)));
  };
  const floor = (label: string, measured: number | null, ok: (v: number) => boolean): Floor => ({
    floor: label,
    measured,
    verdict: measured === null ? 'n/a' : ok(measured) ? 'met' : 'MISSED',
  });
  const first = stability?.[0];
  const last = stability?.at(-1);
  const ratio = (label: string, measured: number | null): Floor => ({
    floor: label,
    measured,
    verdict: measured === null ? 'n/a' : 'measured',
  });
  return [
    ratio(
      'issue 13: MCP tools/call execute, no sessions / REST execute (autocannon both)',
      rate('mcp-execute-stateless', 'gateway-open'),
    ),
    ratio(
      'issue 13: MCP tools/call execute in a session / REST execute (worker client both)',
      rate('mcp-execute-session', 'gateway-open-workers'),
    ),
    floor(
      'open execute / minimal durable gateway >= 0.80',
      rate('gateway-open', 'minimal-gateway'),
      (v) => v >= 0.8,
    ),
    floor(
      'open execute / bare proxy >= 0.40 (goal 0.70)',
      rate('gateway-open', 'bare-proxy'),
      (v) => v >= 0.4,
    ),
    floor(
      'issue 10: open execute, receipts on / bare proxy >= 0.50',
      rate('gateway-open', 'bare-proxy'),
      (v) => v >= 0.5,
    ),
    floor(
      'issue 11: gateway CPU per open execute, metrics on / off <= 1.05',
      cpuRatio('gateway-open', 'gateway-open-no-metrics'),
      (v) => v <= 1.05,
    ),
    floor(
      '50-rule 3-limit policy / no policy >= 0.85',
      rate('gateway-open-policy', 'gateway-open'),
      (v) => v >= 0.85,
    ),
    floor(
      'p99 open execute / p99 minimal gateway <= 2.0',
      perRound('gateway-open', 'minimal-gateway', (x, y) => x.p99Ms / y.p99Ms),
      (v) => v <= 2,
    ),
    floor(
      'confirm pair time / open execute time <= 2.2',
      rate('gateway-open', 'gateway-confirm'),
      (v) => v <= 2.2,
    ),
    floor(
      'issue 12: module adapter in a worker / in-process echo adapter >= 0.75',
      rate('gateway-open-module', 'gateway-open-echo'),
      (v) => v >= 0.75,
    ),
    floor(
      'PostgreSQL, one replica / SQLite >= 0.50',
      rate('gateway-open-pg', 'gateway-open'),
      (v) => v >= 0.5,
    ),
    floor(
      'issue 20: open execute, receipts and the ledger log / bare proxy >= 0.35 (goal 0.50)',
      rate('gateway-open', 'bare-proxy'),
      (v) => v >= 0.35,
    ),
    floor(
      'issue 20: PostgreSQL, two replicas / one replica >= 1.00',
      rate('gateway-open-pg-2', 'gateway-open-pg'),
      (v) => v >= 1,
    ),
    // Not floors of the issue: CPU per request, for the floors above to be judged (or re-based) by;
    // the replicas' line counts both processes, which their rate cannot show.
    ratio('issue 20, CPU per request: open execute / bare proxy', cpuRatio('gateway-open', 'bare-proxy')),
    ratio(
      'issue 20, CPU per request: open execute / minimal durable gateway',
      cpuRatio('gateway-open', 'minimal-gateway'),
    ),
    ratio(
      'issue 20, CPU per execute: PostgreSQL two replicas (both processes) / one replica',
      cpuRatio('gateway-open-pg-2', 'gateway-open-pg'),
    ),
    floor(
      'issue 20: ledger log sequencer lag p99 (ms, gateway-open, worst round) <= LEDGER_SEQUENCE_MS + 500 = 1500',
      worstLag(runs, 'gateway-open'),
      (v) => v <= 1500,
    ),
    floor(
      'last 10 s / first 10 s of a 60 s run >= 0.85',
      first && last ? last / first : null,
      (v) => v >= 0.85,
    ),
  ];
}

export function printFloors(floors: Floor[]): void {
  if (floors.length === 0) return;
  console.log(
    '\nissue 9 and 10 floors (each the median of its per-round ratio, so every ratio compares one round):',
  );
  console.log(
    formatTable(
      ['floor', 'measured', 'verdict'],
      floors.map((f) => [f.floor, f.measured === null ? 'n/a' : f.measured.toFixed(2), f.verdict]),
    ),
  );
}
