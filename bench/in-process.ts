import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { selected } from './config.ts';
import { fmt, formatTable } from './lib/table.ts';
import { benchMetricsCost } from './metrics-cost.ts';
import { benchReceiptCost } from './receipt-cost.ts';

/**
 * The figures measured in this process on one core, after the scenarios: the policy evaluator's
 * decisions per second (bench/policy-evaluator.ts), what a receipt adds to an execute (issue 10,
 * bench/receipt-cost.ts) and what recording the metrics adds (issue 11, bench/metrics-cost.ts).
 * Each runs unless BENCH_ONLY leaves it out, and prints its line as it finishes.
 */
export async function inProcessFigures(): Promise<{
  policyEvaluator: Record<string, unknown>;
  receiptCost: Record<string, number> | { skipped: string };
  metricsCost: Record<string, number> | { skipped: string };
}> {
  const policyEvaluator = selected('policy-evaluator')
    ? await policyEvaluatorFigure()
    : { skipped: 'BENCH_ONLY' };
  if ('decisionsPerSecond' in policyEvaluator && typeof policyEvaluator.decisionsPerSecond === 'number') {
    console.log(
      `\npolicy evaluator: ${fmt.int(policyEvaluator.decisionsPerSecond)} decisions/s (${String(policyEvaluator.rules)} rules, ${String(policyEvaluator.limits)} limits, one core)`,
    );
    const cost = (policyEvaluator.matchesCost ?? []) as { pattern: string; chars: number; ms: number }[];
    console.log(
      formatTable(
        ['matches on hostile input (RE2, linear)', 'chars', 'ms per evaluation'],
        cost.map((m) => [m.pattern, fmt.int(m.chars), m.ms.toFixed(2)]),
      ),
    );
  } else {
    console.log(`\npolicy evaluator: skipped (${String(policyEvaluator.skipped)})`);
  }

  // Issue 10: what a receipt adds to an execute, in CPU, measured in this process on one core.
  const receiptCost = selected('receipt-cost') ? await benchReceiptCost() : { skipped: 'BENCH_ONLY' };
  if ('receiptUs' in receiptCost) {
    console.log(
      `\nreceipt per execute: ${fmt.int(receiptCost.receiptUs ?? 0)} µs CPU (payload, Ed25519 signature ` +
        `${fmt.int(receiptCost.signUs ?? 0)} µs, hashes, insert), measured in-process on one core`,
    );
  }

  // Issue 11: what recording the metrics adds to an execute, in CPU, in this process.
  const metricsCost = selected('metrics-cost') ? await benchMetricsCost() : { skipped: 'BENCH_ONLY' };
  if ('recordUs' in metricsCost) {
    console.log(
      `metrics per execute: ${(metricsCost.recordUs ?? 0).toFixed(2)} µs CPU to record; an in-process open execute ` +
        `${fmt.int(metricsCost.executeOnUs ?? 0)} µs CPU with metrics, ${fmt.int(metricsCost.executeOffUs ?? 0)} µs ` +
        `without (${(metricsCost.overheadPct ?? 0).toFixed(1)} %)`,
    );
  }
  return { policyEvaluator, receiptCost, metricsCost };
}

async function policyEvaluatorFigure(): Promise<Record<string, unknown>> {
  const path = fileURLToPath(new URL('./policy-evaluator.ts', import.meta.url));
  if (!existsSync(path)) return { skipped: 'bench/policy-evaluator.ts does not exist' };
  const mod: unknown = await import(pathToFileURL(path).href);
  const fn =
    typeof mod === 'object' && mod !== null && 'benchPolicyEvaluator' in mod
      ? mod.benchPolicyEvaluator
      : undefined;
  if (typeof fn !== 'function')
    return { skipped: 'bench/policy-evaluator.ts exports no benchPolicyEvaluator' };
  const result: unknown = await fn();
  return typeof result === 'object' && result !== null ? { ...result } : { skipped: 'unexpected result' };
}
