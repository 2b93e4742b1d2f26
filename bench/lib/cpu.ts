import { readFileSync } from 'node:fs';
import { fmt } from './table.ts';

/** USER_HZ: /proc counts CPU time in these (100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU time a process has used so far, in µs (user + system, every thread; from /proc, undefined elsewhere). */
export function processCpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3 of stat(5), so utime (14) and stime (15) are at 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks / CLOCK_TICKS) * 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts counting the CPU time of some processes: `usedUs()` is what they used since (µs),
 * `perRequest(n)` the same divided by `n`; undefined when /proc cannot tell or nothing was answered.
 * For one server saturating its core this is about the inverse of its rate, and moves between runs
 * as much (597-1,134 µs for the open execute in one run's three rounds). What it adds to a rate: the
 * CPU of every process a scenario runs (two replicas), and a request's cost below saturation.
 */
export function cpuMeter(pids: readonly number[]): {
  usedUs(): number | undefined;
  perRequest(requests: number): number | undefined;
} {
  const total = () => {
    let sum = 0;
    for (const pid of pids) {
      const us = processCpuUs(pid);
      if (us === undefined) return undefined;
      sum += us;
    }
    return sum;
  };
  const before = total();
  const usedUs = () => {
    const after = total();
    return before === undefined || after === undefined ? undefined : after - before;
  };
  return {
    usedUs,
    perRequest(requests) {
      const used = usedUs();
      return used === undefined || requests <= 0 ? undefined : used / requests;
    },
  };
}

/** A server's CPU per 2xx answer as a scenario reports it: `data.cpuUsPerRequest` and a note line. */
export function cpuFigures(
  who: string,
  usPerRequest: number | undefined,
): { data: { cpuUsPerRequest?: number }; notes: string[] } {
  if (usPerRequest === undefined) return { data: {}, notes: [] };
  return {
    data: { cpuUsPerRequest: usPerRequest },
    notes: [`${who} CPU: ${fmt.int(usPerRequest)} µs per 2xx answer (warm-up included)`],
  };
}
