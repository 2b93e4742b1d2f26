import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { executeDriver } from '../drivers/rest.ts';
import { fmt } from '../lib/table.ts';
import { gatewayScenario } from './gateway.ts';
import type { Scenario, ScenarioRun } from './types.ts';

/**
 * Issue 24: what the two standards cost the open execute, measured in one run, one after the
 * other against the same upstream: the gateway as shipped (RFC 9421 signing on, no OTLP endpoint:
 * tracing off), then the same gateway built without the tracing middleware (no tracing code on the
 * request's path but the services' `if (!trace)` checks), then exporting every request's spans over
 * OTLP/HTTP (the upstream stands in for the collector), then without the RFC 9421 signature
 * (Standard Webhooks only). Each cost is printed as the ratio of the rates; the run's own figure is
 * the baseline's. The CPU per answer is printed too: on a loaded machine it moves less than a rate.
 * Tracing off against no tracing code is reported over the rounds (report.ts): its ratio in each,
 * beside how much the baseline itself moved between them.
 */
const variants = [
  { id: 'baseline', label: 'as shipped (RFC 9421 on, tracing off)', env: {} },
  // Beside the baseline: the two runs this comparison divides are the closest in time, and they
  // swap places every other round, so neither is always the one started on a colder machine.
  {
    id: 'no-tracing-code',
    label: 'without tracing hooks (no tracing middleware)',
    env: { BENCH_TRACE_HOOKS: 'none' },
  },
  {
    id: 'otel-exporting',
    label: 'tracing exporting (OTLP/HTTP JSON)',
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'UPSTREAM' },
  },
  {
    id: 'no-rfc9421',
    label: 'without RFC 9421 (Standard Webhooks only)',
    env: { BENCH_BUSINESS_SIGNATURES: 'webhooks-only' },
  },
] as const;

/** Rounds run so far in this process: the first two variants alternate. */
let runsSoFar = 0;

export const standardsCost: Scenario = {
  id: 'standards-cost',
  label: 'gateway execute (open): OTel exporting vs off vs no tracing code, RFC 9421 vs without',
  unit: 'req/s',
  async run(ctx): Promise<ScenarioRun> {
    const results: Record<string, ScenarioRun> = {};
    const [first, second, ...rest] = variants;
    const order = runsSoFar++ % 2 === 0 ? [first, second, ...rest] : [second, first, ...rest];
    for (const v of order) {
      const env: Record<string, string> = { AGENR_EXECUTE_POLICY: 'open' };
      for (const [name, value] of Object.entries(v.env))
        env[name] = value === 'UPSTREAM' ? ctx.upstream.url : value;
      const dir = join(ctx.dir, v.id);
      mkdirSync(dir, { recursive: true });
      const scenario = gatewayScenario({ id: v.id, label: v.label, env, driver: executeDriver });
      results[v.id] = await scenario.run({ ...ctx, dir });
    }
    const base = results.baseline as ScenarioRun;
    const cpu = (r: ScenarioRun | undefined) => r?.data?.cpuUsPerRequest as number | undefined;
    const notes: string[] = [];
    const data: Record<string, unknown> = {};
    for (const v of variants) {
      const r = results[v.id] as ScenarioRun;
      const ratio = r.load.rate / base.load.rate;
      const cpuRatio = cpu(r) && cpu(base) ? (cpu(r) as number) / (cpu(base) as number) : undefined;
      data[v.id] = { rate: r.load.rate, cpuUsPerRequest: cpu(r), rateRatio: ratio, cpuRatio };
      notes.push(
        `${v.label}: ${fmt.int(r.load.rate)} req/s (× ${ratio.toFixed(3)} of as shipped), ` +
          `p99 ${r.load.p99Ms} ms, CPU ${cpu(r) === undefined ? '—' : fmt.int(cpu(r) as number)} µs/answer` +
          (cpuRatio === undefined ? '' : ` (× ${cpuRatio.toFixed(3)})`) +
          (r.load.non2xx + r.load.errors > 0
            ? `  !!! ${r.load.non2xx} non-2xx, ${r.load.errors} errors`
            : ''),
      );
    }
    const exporting = results['otel-exporting'] as ScenarioRun;
    const unsigned = results['no-rfc9421'] as ScenarioRun;
    const untraced = results['no-tracing-code'] as ScenarioRun;
    notes.push(
      `cost of exporting traces: × ${(base.load.rate / exporting.load.rate).toFixed(3)} the time per execute; ` +
        `cost of RFC 9421 signing: × ${(unsigned.load.rate / base.load.rate).toFixed(3)}; ` +
        `tracing off vs no tracing code: × ${(base.load.rate / untraced.load.rate).toFixed(3)} the rate (this round)`,
    );
    // What report.ts reads from every round: tracing off over no tracing code, by rate and by CPU.
    data.tracingOffVsNoCode = {
      rateRatio: base.load.rate / untraced.load.rate,
      cpuRatio: cpu(base) && cpu(untraced) ? (cpu(base) as number) / (cpu(untraced) as number) : undefined,
    };
    return { load: base.load, notes, data };
  },
};
