import { AdapterError } from '../../../adapters/types.ts';
import type { Metrics } from '../../metrics/index.ts';

/**
 * A circuit breaker per business (issue 12 item 4): after `failures` consecutive connect failures or
 * timeouts within `windowMs`, calls to that business fail fast with 503 ADAPTER_UNAVAILABLE for
 * `cooldownMs`; then one trial call goes through and its outcome closes or re-opens the breaker.
 *
 * The state is kept per replica, in memory, like Envoy's outlier detection and Kong's passive health
 * checks: no database round trip on the hot path (one Map lookup per call), and each replica learns a
 * business is down from at most `failures` calls of its own, so sharing the state would save only
 * those few calls at the price of a write per failure and a read per call. A restart starts closed.
 */

export interface BreakerOptions {
  /** Consecutive failures that open the breaker (BREAKER_FAILURES); 0 turns the breaker off. */
  failures: number;
  /** The failures must fall within this span from the first of them (BREAKER_WINDOW_SECONDS). */
  windowMs: number;
  /** How long an open breaker refuses calls before a trial (BREAKER_COOLDOWN_SECONDS). */
  cooldownMs: number;
  /**
   * A trial that has not reported after this long is taken as lost and another may start. Adapter
   * calls are bounded (ADAPTER_TIMEOUT_MS per phase), so this is a backstop, never the usual path.
   */
  trialLeaseMs: number;
  /** Epoch ms: the gateway's injectable clock (tests move time). */
  clock: () => number;
  metrics: Pick<Metrics, 'breakerOpen' | 'breakerRejection'>;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerView {
  state: BreakerState;
  /** Consecutive failures counted (those that opened it, while open). */
  failures: number;
  /** When the cool-down ends (ISO 8601), while open or half-open; null when closed. */
  openUntil: string | null;
}

/** What `admit` answers: refuse, let the call through, or let it through as the one trial. */
export const REJECTED = 0;
export const ADMITTED = 1;
export const TRIAL = 2;
export type Admission = typeof REJECTED | typeof ADMITTED | typeof TRIAL;

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;

/** Only created at a business's first failure: the healthy closed state allocates nothing. */
interface Circuit {
  state: typeof CLOSED | typeof OPEN | typeof HALF_OPEN;
  failures: number;
  firstFailureAt: number;
  openUntil: number;
  /** While half-open: when the trial in flight counts as lost. */
  trialUntil: number;
}

/**
 * Whether a failed adapter call says the business is unreachable: a timeout (connect or answer), or a
 * failure before anything was sent (refused, unreachable, DNS), the adapter's own classification
 * (`mayHaveActed`, DESIGN §7). An HTTP answer, even 4xx/5xx, means the business is up: not a failure.
 */
export function isBreakerFailure(cause: unknown): boolean {
  if (!(cause instanceof AdapterError) || cause.upstreamStatus !== undefined) return false;
  return cause.code === 'ADAPTER_TIMEOUT' || !cause.mayHaveActed;
}

export class Breakers {
  readonly #circuits = new Map<string, Circuit>();
  readonly #options: BreakerOptions;

  constructor(options: BreakerOptions) {
    this.#options = options;
  }

  /** Before any connection: may a call to `business` go through now? */
  admit(business: string): Admission {
    const circuit = this.#circuits.get(business);
    if (circuit === undefined || circuit.state === CLOSED) return ADMITTED;
    const now = this.#options.clock();
    if (circuit.state === OPEN ? now < circuit.openUntil : now < circuit.trialUntil) {
      this.#options.metrics.breakerRejection(business);
      return REJECTED;
    }
    // The cool-down is over (or the trial in flight was lost): this call is the one trial.
    circuit.state = HALF_OPEN;
    circuit.trialUntil = now + this.#options.trialLeaseMs;
    return TRIAL;
  }

  /** After an admitted call: `failed` as `isBreakerFailure` says. */
  record(business: string, admission: Admission, failed: boolean): void {
    if (this.#options.failures === 0 || admission === REJECTED) return;
    let circuit = this.#circuits.get(business);
    if (admission === TRIAL) {
      if (circuit === undefined) return;
      if (failed) this.#open(business, circuit, circuit.failures + 1);
      else this.#close(business, circuit);
      return;
    }
    if (!failed) {
      // Only the trial decides a half-open breaker; a late success of an older call changes nothing.
      if (circuit !== undefined && circuit.state === CLOSED) circuit.failures = 0;
      return;
    }
    const now = this.#options.clock();
    if (circuit === undefined) {
      circuit = { state: CLOSED, failures: 0, firstFailureAt: now, openUntil: 0, trialUntil: 0 };
      this.#circuits.set(business, circuit);
    }
    // A late failure of a call admitted before the breaker opened does not extend the cool-down.
    if (circuit.state !== CLOSED) return;
    if (circuit.failures === 0 || now - circuit.firstFailureAt > this.#options.windowMs) {
      circuit.failures = 0;
      circuit.firstFailureAt = now;
    }
    circuit.failures += 1;
    if (circuit.failures >= this.#options.failures) this.#open(business, circuit, circuit.failures);
  }

  /**
   * An admitted call that never reached the business (refused by the concurrency cap): it says
   * nothing of the business. A trial given up this way lets the next call be the trial.
   */
  abandon(business: string, admission: Admission): void {
    if (admission !== TRIAL) return;
    const circuit = this.#circuits.get(business);
    if (circuit !== undefined && circuit.state === HALF_OPEN) circuit.trialUntil = 0;
  }

  /** Whole seconds until a refused call is worth repeating (Retry-After, RFC 9110 §10.2.3), at least 1. */
  retryAfterSeconds(business: string): number {
    const circuit = this.#circuits.get(business);
    if (circuit === undefined || circuit.state !== OPEN) return 1;
    return Math.max(1, Math.ceil((circuit.openUntil - this.#options.clock()) / 1000));
  }

  /** The breaker of `business` as the operator sees it (GET /v1/admin/businesses). */
  view(business: string): BreakerView {
    const circuit = this.#circuits.get(business);
    if (circuit === undefined || circuit.state === CLOSED) {
      return { state: 'closed', failures: circuit?.failures ?? 0, openUntil: null };
    }
    // Open with the cool-down over: the next call is the trial.
    const halfOpen = circuit.state === HALF_OPEN || this.#options.clock() >= circuit.openUntil;
    return {
      state: halfOpen ? 'half_open' : 'open',
      failures: circuit.failures,
      openUntil: new Date(circuit.openUntil).toISOString(),
    };
  }

  #open(business: string, circuit: Circuit, failures: number): void {
    if (circuit.state === CLOSED) this.#options.metrics.breakerOpen(business, true);
    circuit.state = OPEN;
    circuit.failures = failures;
    circuit.openUntil = this.#options.clock() + this.#options.cooldownMs;
  }

  #close(business: string, circuit: Circuit): void {
    circuit.state = CLOSED;
    circuit.failures = 0;
    this.#options.metrics.breakerOpen(business, false);
  }
}
