import type { Metrics } from '../../metrics/index.ts';

/**
 * A cap on the adapter calls in flight to each business (issue 18 item 10a): past it a call waits,
 * first come first served, up to `queueTimeoutMs` for a slot, and is refused if none frees (503
 * ADAPTER_UNAVAILABLE, nothing sent). Without it 300 concurrent executes to a slow business opened
 * 300 connections to it; undici's own per-origin `connections` limit would queue without bound and
 * could not tell the agent to come back later.
 *
 * Per replica and in memory, like the circuit breaker: the cap protects the business from this
 * replica's burst and this replica from holding a socket and a request per call. Below the cap a
 * call costs one Map lookup and an increment; only a call that must wait allocates (its timer).
 */

export interface BulkheadOptions {
  /** How long a call waits for a slot before it is refused (ADAPTER_QUEUE_TIMEOUT_MS); 0: at once. */
  queueTimeoutMs: number;
  metrics: Pick<Metrics, 'adapterQueueRejection'>;
}

interface Waiter {
  wake: (admitted: boolean) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  next: Waiter | undefined;
  prev: Waiter | undefined;
}

/** One per business called so far: calls in flight, the cap last asked for, the waiters in order. */
interface Lane {
  active: number;
  limit: number;
  head: Waiter | undefined;
  tail: Waiter | undefined;
}

export class Bulkheads {
  readonly #lanes = new Map<string, Lane>();
  readonly #options: BulkheadOptions;

  constructor(options: BulkheadOptions) {
    this.#options = options;
  }

  /**
   * Takes a slot of `business` (at most `limit` in flight) if one is free; otherwise false, and the
   * caller `wait`s. Every slot taken, here or by `wait`, is given back with `release`.
   */
  tryAcquire(business: string, limit: number): boolean {
    let lane = this.#lanes.get(business);
    if (lane === undefined) {
      lane = { active: 0, limit, head: undefined, tail: undefined };
      this.#lanes.set(business, lane);
    }
    lane.limit = limit;
    if (lane.active >= limit) return false;
    lane.active += 1;
    return true;
  }

  /** Waits for a slot, in arrival order; false when none freed within the queue timeout. */
  wait(business: string): Promise<boolean> {
    const lane = this.#lanes.get(business);
    // tryAcquire made the lane; without a queue a full lane refuses at once.
    if (lane === undefined || this.#options.queueTimeoutMs <= 0) return this.#refused(business);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { wake: resolve, timer: undefined, next: undefined, prev: lane.tail };
      if (lane.tail) lane.tail.next = waiter;
      else lane.head = waiter;
      lane.tail = waiter;
      waiter.timer = setTimeout(() => {
        unlink(lane, waiter);
        this.#options.metrics.adapterQueueRejection(business);
        resolve(false);
      }, this.#options.queueTimeoutMs);
    });
  }

  /** Gives a slot back; the first waiters take the slots now free (the cap may have changed). */
  release(business: string): void {
    const lane = this.#lanes.get(business);
    if (lane === undefined) return;
    lane.active -= 1;
    while (lane.head !== undefined && lane.active < lane.limit) {
      const waiter = lane.head;
      unlink(lane, waiter);
      clearTimeout(waiter.timer);
      lane.active += 1;
      waiter.wake(true);
    }
  }

  /** Whole seconds a refused call should wait before it is repeated (RFC 9110 §10.2.3), at least 1. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.#options.queueTimeoutMs / 1000));
  }

  /** Calls in flight to `business` and calls waiting for a slot (tests, operators). */
  view(business: string): { active: number; waiting: number } {
    const lane = this.#lanes.get(business);
    let waiting = 0;
    for (let w = lane?.head; w !== undefined; w = w.next) waiting += 1;
    return { active: lane?.active ?? 0, waiting };
  }

  #refused(business: string): Promise<boolean> {
    this.#options.metrics.adapterQueueRejection(business);
    return Promise.resolve(false);
  }
}

function unlink(lane: Lane, waiter: Waiter): void {
  if (waiter.prev) waiter.prev.next = waiter.next;
  else lane.head = waiter.next;
  if (waiter.next) waiter.next.prev = waiter.prev;
  else lane.tail = waiter.prev;
  waiter.next = undefined;
  waiter.prev = undefined;
}
