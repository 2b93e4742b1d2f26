import type { Metrics } from '../../metrics/index.ts';
import type { AdapterOutcome } from './adapter-call.ts';
import type { Admission } from './admission.ts';

/** An admission's outcome as the policy outcome it carries out (no decision at all: auto_approve). */
const DECIDED = {
  forward: 'auto_approve',
  approval: 'approval',
  queue: 'queue',
  reject: 'reject',
} as const;

/**
 * Counts the decision on a new execute or evaluation, once its transaction committed (a batch may
 * run the admission twice). Lost races (token or key taken) decided nothing.
 */
export function countDecision(metrics: Metrics, outcome: Admission['outcome']): void {
  if (outcome in DECIDED) metrics.decision(DECIDED[outcome as keyof typeof DECIDED]);
}

/** Times an adapter call: a timeout, an outcome left unknown, another failure, or success. */
export function observeAdapterCall(metrics: Metrics, business: string, outcome: AdapterOutcome): void {
  const seconds = outcome.upstreamMs / 1000;
  // Refused by the circuit breaker or the concurrency cap: nothing was called (counted in
  // warden_breaker_rejections_total and warden_adapter_queue_rejections_total).
  if (!outcome.ok && outcome.error.code === 'ADAPTER_UNAVAILABLE') return;
  if (outcome.ok) metrics.adapterCall(business, 'success', seconds);
  else if (outcome.error.code === 'ADAPTER_TIMEOUT') metrics.adapterCall(business, 'timeout', seconds);
  else metrics.adapterCall(business, outcome.mayHaveActed ? 'unknown' : 'error', seconds);
}
