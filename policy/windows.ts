import {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  minuteOfDay,
  WEEKDAYS,
  type Weekday,
  weekdayIndex,
  zoneFor,
} from './timezone.ts';

/**
 * Spend windows and time-of-day windows (DESIGN §6). Every function takes `now` (epoch ms) so callers
 * inject the clock; all wall-clock reasoning happens in the policy time zone.
 */

export type Interval = 'per_transaction' | 'hour' | 'day' | 'week' | 'month' | 'all_time';
export type WindowKind = 'rolling' | 'calendar';

export interface LimitWindow {
  interval: Interval;
  /** Default `rolling`. */
  window?: WindowKind;
}

const WEEK_MS = 7 * DAY_MS;

/**
 * The first instant (epoch ms, inclusive) whose spend counts toward a limit at `now`, or `null` for
 * `per_transaction` (nothing is counted; only the request's own amount is compared).
 *
 * - `all_time` → 0.
 * - `rolling`: `now` minus the interval: an hour, 24 hours, 7 days; a month is the same wall-clock
 *   day and time one calendar month earlier in the policy zone, clamped to that month's last day
 *   (31 March → 28/29 February).
 * - `calendar`: the start of the current hour, day, ISO week (Monday) or month on the policy zone's wall
 *   clock, so a calendar day is 23 or 25 hours long across a DST change. Where the wall clock repeats
 *   (DST end) the period starts at the first occurrence; where it skips the start (a zone whose DST
 *   begins at midnight) the period starts when the clock jumps past it.
 */
export function windowStart(limit: LimitWindow, now: number, timezone: string): number | null {
  switch (limit.interval) {
    case 'per_transaction':
      return null;
    case 'all_time':
      return 0;
  }
  const zone = zoneFor(timezone);
  if ((limit.window ?? 'rolling') === 'rolling') {
    switch (limit.interval) {
      case 'hour':
        return now - HOUR_MS;
      case 'day':
        return now - DAY_MS;
      case 'week':
        return now - WEEK_MS;
      case 'month': {
        const local = zone.local(now);
        const date = new Date(local);
        const y = date.getUTCFullYear();
        const m = date.getUTCMonth();
        const d = date.getUTCDate();
        const timeOfDay = local - Date.UTC(y, m, d);
        const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
        const target = Date.UTC(y, m - 1, Math.min(d, lastDay)) + timeOfDay;
        return Math.min(zone.utcOf(target), now);
      }
    }
  }
  const local = zone.local(now);
  const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
  let start: number;
  switch (limit.interval) {
    case 'hour':
      start = Math.floor(local / HOUR_MS) * HOUR_MS;
      break;
    case 'day':
      start = dayStart;
      break;
    case 'week':
      start = dayStart - weekdayIndex(dayStart) * DAY_MS;
      break;
    default: {
      const date = new Date(local);
      start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    }
  }
  return Math.min(zone.utcOf(start), now);
}

/** One `time_windows.allow` entry: days plus `HH:MM` start (inclusive) and end (exclusive). */
export interface AllowWindow {
  days: readonly Weekday[];
  start: string;
  end: string;
}

/** A window prepared for repeated checks: a weekday bit mask and minutes since midnight. */
export interface CompiledWindow {
  /** Bit `i` set when weekday `i` (Monday = 0) is listed. */
  days: number;
  start: number;
  end: number;
  /** `end < start`: the window runs past midnight into the next day. */
  overnight: boolean;
}

/** `HH:MM` → minutes since midnight; `24:00` (allowed as an end) → 1440. */
export function parseClock(value: string): number {
  return Number(value.slice(0, 2)) * 60 + Number(value.slice(3, 5));
}

export function compileWindows(allow: readonly AllowWindow[]): CompiledWindow[] {
  return allow.map((w) => {
    let days = 0;
    for (const day of w.days) days |= 1 << WEEKDAYS.indexOf(day);
    const start = parseClock(w.start);
    const end = parseClock(w.end);
    return { days, start, end, overnight: end < start };
  });
}

/**
 * Whether a local time (local epoch ms) falls in a window. An overnight window belongs to the day it
 * starts on: `fri 22:00–02:00` covers Friday 22:00 to Saturday 02:00.
 */
export function insideCompiled(windows: readonly CompiledWindow[], localMs: number): boolean {
  const weekday = weekdayIndex(localMs);
  const minute = minuteOfDay(localMs);
  const todayBit = 1 << weekday;
  const yesterdayBit = 1 << ((weekday + 6) % 7);
  for (const w of windows) {
    if (w.overnight) {
      if (
        ((w.days & todayBit) !== 0 && minute >= w.start) ||
        ((w.days & yesterdayBit) !== 0 && minute < w.end)
      ) {
        return true;
      }
    } else if ((w.days & todayBit) !== 0 && minute >= w.start && minute < w.end) {
      return true;
    }
  }
  return false;
}

/** The earliest window opening strictly after `now` (epoch ms), or `null` when none opens in 15 days. */
export function nextOpenCompiled(
  windows: readonly CompiledWindow[],
  now: number,
  timezone: string,
): number | null {
  const zone = zoneFor(timezone);
  const today = Math.floor(zone.local(now) / DAY_MS) * DAY_MS;
  for (let k = 0; k <= 15; k++) {
    const day = today + k * DAY_MS;
    const bit = 1 << weekdayIndex(day);
    let best = Number.POSITIVE_INFINITY;
    for (const w of windows) {
      if ((w.days & bit) === 0) continue;
      const opens = zone.utcOf(day + w.start * MINUTE_MS);
      // A start inside a DST gap resolves to the jump; skip it if the window is already over by then.
      if (opens > now && opens < best && insideCompiled(windows, zone.local(opens))) best = opens;
    }
    if (best !== Number.POSITIVE_INFINITY) return best;
  }
  return null;
}

/** Whether `now` lies inside any of the `allow` windows on the policy zone's wall clock. */
export function isWithinTimeWindows(allow: readonly AllowWindow[], now: number, timezone: string): boolean {
  return insideCompiled(compileWindows(allow), zoneFor(timezone).local(now));
}

/** Epoch ms at which the next `allow` window opens after `now` (the `releaseAt` of a queued request). */
export function nextWindowOpen(allow: readonly AllowWindow[], now: number, timezone: string): number | null {
  return nextOpenCompiled(compileWindows(allow), now, timezone);
}
