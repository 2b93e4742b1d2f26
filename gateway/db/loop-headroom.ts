import { performance } from 'node:perf_hooks';

/**
 * Whether the event loop has had time to spare lately: its utilisation (the share of time spent
 * running callbacks rather than waiting for I/O, `performance.eventLoopUtilization`) over the last
 * `windowMs` is below `busyAbove`. Sampled at most once per window, when asked: two reads of
 * counters, no timer.
 */
export function loopHeadroom(windowMs = 100, busyAbove = 0.85): () => boolean {
  let since = performance.eventLoopUtilization();
  let sampledAt = performance.now();
  let spare = true;
  return function hasHeadroom(): boolean {
    const now = performance.now();
    if (now - sampledAt >= windowMs) {
      spare = performance.eventLoopUtilization(since).utilization < busyAbove;
      since = performance.eventLoopUtilization();
      sampledAt = now;
    }
    return spare;
  };
}
