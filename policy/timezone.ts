/**
 * Wall-clock arithmetic in an IANA time zone without a date library.
 *
 * `Intl.DateTimeFormat` is the only source of truth for offsets, but it costs microseconds per call, so
 * each zone caches offsets per UTC hour: the offset at both ends of the hour is asked once; when they
 * differ the exact transition instant inside that hour is found by bisection and cached too. This
 * assumes at most one offset transition per UTC hour, which holds for every zone in the tz database.
 * Local times are represented as "local epoch ms": the instant's UTC fields read as wall-clock fields.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** True when `Intl` knows the zone (IANA names such as `Europe/Berlin`, or `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.length === 0 || timeZone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

interface HourSplit {
  /** First instant (ms) with the new offset. */
  at: number;
  before: number;
  after: number;
}

const MAX_CACHED_HOURS = 20_000;

export class Zone {
  readonly name: string;
  private readonly fixedZero: boolean;
  private readonly format: Intl.DateTimeFormat;
  private readonly hours = new Map<number, number | HourSplit>();
  private lastHour = Number.NaN;
  private lastEntry: number | HourSplit = 0;

  constructor(name: string) {
    this.name = name;
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    this.fixedZero =
      this.exactOffset(0) === 0 && this.exactOffset(1_800_000_000_000) === 0 && isUtcName(name);
  }

  /** Offset (local − UTC, ms) at instant `t`, from Intl directly (second precision). */
  exactOffset(t: number): number {
    const seconds = Math.floor(t / 1000) * 1000;
    let y = 0;
    let mo = 0;
    let d = 0;
    let h = 0;
    let mi = 0;
    let s = 0;
    for (const part of this.format.formatToParts(seconds)) {
      switch (part.type) {
        case 'year':
          y = Number(part.value);
          break;
        case 'month':
          mo = Number(part.value);
          break;
        case 'day':
          d = Number(part.value);
          break;
        case 'hour':
          h = Number(part.value);
          break;
        case 'minute':
          mi = Number(part.value);
          break;
        case 'second':
          s = Number(part.value);
          break;
      }
    }
    const wall = new Date(0);
    wall.setUTCFullYear(y, mo - 1, d);
    wall.setUTCHours(h, mi, s, 0);
    return wall.getTime() - seconds;
  }

  /** Offset (local − UTC, ms) at instant `t`, cached. */
  offsetAt(t: number): number {
    if (this.fixedZero) return 0;
    const hour = Math.floor(t / HOUR_MS);
    let entry: number | HourSplit;
    if (hour === this.lastHour) {
      entry = this.lastEntry;
    } else {
      entry = this.hours.get(hour) ?? this.fillHour(hour);
      this.lastHour = hour;
      this.lastEntry = entry;
    }
    if (typeof entry === 'number') return entry;
    return t < entry.at ? entry.before : entry.after;
  }

  /** Local epoch ms of instant `t`. */
  local(t: number): number {
    return t + this.offsetAt(t);
  }

  /**
   * The earliest instant whose wall clock reads `localMs`; when the wall clock skips it (a DST gap),
   * the instant the clock jumps over it, i.e. the first instant whose wall clock is at or past it.
   */
  utcOf(localMs: number): number {
    const before = this.offsetAt(localMs - DAY_MS);
    const after = this.offsetAt(localMs + DAY_MS);
    let best = Number.POSITIVE_INFINITY;
    const c1 = localMs - before;
    if (this.offsetAt(c1) === before) best = c1;
    const c2 = localMs - after;
    if (c2 < best && this.offsetAt(c2) === after) best = c2;
    if (best !== Number.POSITIVE_INFINITY) return best;
    // A gap: the transition lies in (localMs − max, localMs − min]; find the first instant past it.
    let lo = localMs - Math.max(before, after);
    let hi = localMs - Math.min(before, after);
    const loOffset = this.offsetAt(lo);
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.offsetAt(mid) === loOffset) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  private fillHour(hour: number): number | HourSplit {
    if (this.hours.size >= MAX_CACHED_HOURS) this.hours.clear();
    const start = hour * HOUR_MS;
    const end = start + HOUR_MS;
    const before = this.exactOffset(start);
    const after = this.exactOffset(end);
    let entry: number | HourSplit;
    if (before === after) {
      entry = before;
    } else {
      // Intl has second precision, so bisect on whole seconds.
      let lo = start;
      let hi = end;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (this.exactOffset(mid) === before) lo = mid;
        else hi = mid;
      }
      entry = { at: hi, before, after };
    }
    this.hours.set(hour, entry);
    return entry;
  }
}

function isUtcName(name: string): boolean {
  const n = name.toUpperCase();
  return n === 'UTC' || n === 'ETC/UTC' || n === 'GMT' || n === 'ETC/GMT' || n === 'Z' || n === 'ZULU';
}

const zones = new Map<string, Zone>();

/** The shared, cached `Zone` for an IANA name (throws RangeError for an unknown zone). */
export function zoneFor(name: string): Zone {
  let zone = zones.get(name);
  if (zone === undefined) {
    if (zones.size >= 1000) zones.clear();
    zone = new Zone(name);
    zones.set(name, zone);
  }
  return zone;
}

/** Monday = 0 … Sunday = 6 for a local epoch ms value (1970-01-01 was a Thursday). */
export function weekdayIndex(localMs: number): number {
  const days = Math.floor(localMs / DAY_MS);
  return (((days + 3) % 7) + 7) % 7;
}

/** Minutes since local midnight for a local epoch ms value. */
export function minuteOfDay(localMs: number): number {
  return Math.floor((localMs - Math.floor(localMs / DAY_MS) * DAY_MS) / MINUTE_MS);
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
