import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWithinTimeWindows, nextWindowOpen, windowStart } from '../../policy/index.ts';

const H = 3_600_000;
const D = 24 * H;
const BERLIN = 'Europe/Berlin';
const cal = (interval: 'hour' | 'day' | 'week' | 'month') => ({ interval, window: 'calendar' as const });
const rolling = (interval: 'hour' | 'day' | 'week' | 'month') => ({ interval, window: 'rolling' as const });
const utc = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);

/** Wall-clock parts straight from Intl: the slow, obviously-correct reference. */
function wall(t: number, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
  }).formatToParts(t);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    y: Number(get('year')),
    mo: Number(get('month')),
    d: Number(get('day')),
    h: Number(get('hour')),
    mi: Number(get('minute')),
    s: Number(get('second')),
    wd: get('weekday'),
  };
}

describe('windowStart', () => {
  it('counts nothing for per_transaction and everything for all_time', () => {
    expect(windowStart({ interval: 'per_transaction' }, utc(2025, 1, 1), BERLIN)).toBeNull();
    expect(windowStart({ interval: 'all_time' }, utc(2025, 1, 1), BERLIN)).toBe(0);
    expect(windowStart({ interval: 'all_time', window: 'calendar' }, utc(2025, 1, 1), BERLIN)).toBe(0);
  });

  it('rolling hour, day and week are fixed lengths back from now, even across DST', () => {
    const now = utc(2025, 3, 30, 12); // Berlin spring-forward day
    expect(windowStart(rolling('hour'), now, BERLIN)).toBe(now - H);
    expect(windowStart(rolling('day'), now, BERLIN)).toBe(now - D);
    expect(windowStart(rolling('week'), now, BERLIN)).toBe(now - 7 * D);
    expect(windowStart({ interval: 'day' }, now, BERLIN)).toBe(now - D); // rolling is the default
  });

  it('rolling month goes back one calendar month on the wall clock, clamped to the month end', () => {
    // 31 March 10:00 CEST → 28 February 10:00 CET (09:00 UTC): wall clock kept across the DST change.
    expect(windowStart(rolling('month'), utc(2025, 3, 31, 8), BERLIN)).toBe(utc(2025, 2, 28, 9));
    // Leap year clamps to the 29th.
    expect(windowStart(rolling('month'), utc(2024, 3, 31, 12), 'UTC')).toBe(utc(2024, 2, 29, 12));
    // January reaches back into December of the previous year.
    expect(windowStart(rolling('month'), utc(2025, 1, 15, 6, 30), 'UTC')).toBe(utc(2024, 12, 15, 6, 30));
    // Mid-month, no clamping.
    expect(windowStart(rolling('month'), utc(2025, 7, 10, 12), BERLIN)).toBe(utc(2025, 6, 10, 12));
  });

  it('calendar day in Berlin is 23 hours long on the last Sunday of March', () => {
    const start = utc(2025, 3, 29, 23); // 00:00 CET
    const next = utc(2025, 3, 30, 22); // 00:00 CEST on 31 March
    expect(next - start).toBe(23 * H);
    expect(windowStart(cal('day'), utc(2025, 3, 30, 0, 30), BERLIN)).toBe(start); // 01:30 CET
    expect(windowStart(cal('day'), utc(2025, 3, 30, 1), BERLIN)).toBe(start); // 03:00 CEST, just after the jump
    expect(windowStart(cal('day'), next - 1, BERLIN)).toBe(start);
    expect(windowStart(cal('day'), next, BERLIN)).toBe(next);
  });

  it('calendar day in Berlin is 25 hours long on the last Sunday of October', () => {
    const start = utc(2025, 10, 25, 22); // 00:00 CEST
    const next = utc(2025, 10, 26, 23); // 00:00 CET on 27 October
    expect(next - start).toBe(25 * H);
    expect(windowStart(cal('day'), utc(2025, 10, 26, 0, 30), BERLIN)).toBe(start); // 02:30 CEST (first)
    expect(windowStart(cal('day'), utc(2025, 10, 26, 1, 30), BERLIN)).toBe(start); // 02:30 CET (second)
    expect(windowStart(cal('day'), next - 1, BERLIN)).toBe(start);
    expect(windowStart(cal('day'), next, BERLIN)).toBe(next);
  });

  it('calendar day starts when the clock jumps past a skipped midnight (Santiago)', () => {
    // Chile's DST began 2024-09-08 at 00:00 local: the day starts at 01:00 -03 (04:00 UTC).
    expect(windowStart(cal('day'), utc(2024, 9, 8, 12), 'America/Santiago')).toBe(utc(2024, 9, 8, 4));
    expect(windowStart(cal('day'), utc(2024, 9, 7, 12), 'America/Santiago')).toBe(utc(2024, 9, 7, 4));
  });

  it('calendar hour follows the wall clock, including the repeated hour and half-hour zones', () => {
    expect(windowStart(cal('hour'), utc(2025, 1, 15, 12, 45), BERLIN)).toBe(utc(2025, 1, 15, 12));
    // India is +05:30: hours start at :30 UTC.
    expect(windowStart(cal('hour'), utc(2025, 1, 15, 12, 45), 'Asia/Kolkata')).toBe(utc(2025, 1, 15, 12, 30));
    expect(windowStart(cal('hour'), utc(2025, 1, 15, 12, 15), 'Asia/Kolkata')).toBe(utc(2025, 1, 15, 11, 30));
    // 02:30 CET on 26 Oct 2025 is the second 02:xx; the calendar hour 02 began at the first 02:00 (CEST).
    expect(windowStart(cal('hour'), utc(2025, 10, 26, 1, 30), BERLIN)).toBe(utc(2025, 10, 26, 0));
    // Lord Howe falls back 30 minutes (02:00 +11 → 01:30 +10:30): hour 02 begins at 15:30 UTC.
    expect(windowStart(cal('hour'), utc(2024, 4, 6, 15, 40), 'Australia/Lord_Howe')).toBe(
      utc(2024, 4, 6, 15, 30),
    );
  });

  it('calendar week starts on Monday 00:00 in the policy zone', () => {
    const monday = utc(2025, 1, 12, 23); // Monday 13 Jan 00:00 CET
    // Sunday 19 Jan 23:30 Berlin is still the week that began on the 13th …
    expect(windowStart(cal('week'), utc(2025, 1, 19, 22, 30), BERLIN)).toBe(monday);
    // … Monday 20 Jan 00:30 Berlin (still Sunday in UTC) is a new week.
    expect(windowStart(cal('week'), utc(2025, 1, 19, 23, 30), BERLIN)).toBe(utc(2025, 1, 19, 23));
    // In UTC the same instant is still Sunday, so still the old week.
    expect(windowStart(cal('week'), utc(2025, 1, 19, 23, 30), 'UTC')).toBe(utc(2025, 1, 13));
    // A week that contains the spring-forward Sunday began at 00:00 CET on Monday 24 March.
    expect(windowStart(cal('week'), utc(2025, 3, 30, 20), BERLIN)).toBe(utc(2025, 3, 23, 23));
  });

  it('calendar month starts on the 1st at 00:00 in the policy zone', () => {
    // 1 Nov 00:30 CET is 31 Oct 23:30 UTC: November already in Berlin.
    expect(windowStart(cal('month'), utc(2025, 10, 31, 23, 30), BERLIN)).toBe(utc(2025, 10, 31, 23));
    // 31 Oct 23:59 CET: October, which began at 00:00 CEST (22:00 UTC on 30 Sep).
    expect(windowStart(cal('month'), utc(2025, 10, 31, 22, 59), BERLIN)).toBe(utc(2025, 9, 30, 22));
    expect(windowStart(cal('month'), utc(2025, 1, 1), 'UTC')).toBe(utc(2025, 1, 1));
    expect(windowStart(cal('month'), utc(2024, 12, 31, 23, 59), 'UTC')).toBe(utc(2024, 12, 1));
    expect(windowStart(cal('month'), utc(2025, 3, 1, 4), 'America/New_York')).toBe(utc(2025, 2, 1, 5));
  });

  const zones = [
    'UTC',
    BERLIN,
    'America/New_York',
    'America/Santiago',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'America/St_Johns',
  ];
  const instant = fc
    .integer({ min: utc(2000, 1, 1), max: utc(2040, 1, 1) })
    .map((t) => Math.floor(t / 1000) * 1000);

  it('calendar starts agree with Intl, the brute-force definition (property)', () => {
    fc.assert(
      fc.property(instant, fc.constantFrom(...zones), (t, zone) => {
        const w = wall(t, zone);
        const day = windowStart(cal('day'), t, zone) as number;
        const ds = wall(day, zone);
        const before = wall(day - 1000, zone);
        expect(day).toBeLessThanOrEqual(t);
        expect([ds.y, ds.mo, ds.d]).toEqual([w.y, w.mo, w.d]);
        expect([before.y, before.mo, before.d]).not.toEqual([w.y, w.mo, w.d]);

        const hour = windowStart(cal('hour'), t, zone) as number;
        const hs = wall(hour, zone);
        expect(hour).toBeLessThanOrEqual(t);
        expect([hs.y, hs.mo, hs.d, hs.h]).toEqual([w.y, w.mo, w.d, w.h]);
        const beforeHour = wall(hour - 1000, zone);
        expect([beforeHour.d, beforeHour.h]).not.toEqual([w.d, w.h]);

        const month = windowStart(cal('month'), t, zone) as number;
        const ms = wall(month, zone);
        expect([ms.y, ms.mo, ms.d]).toEqual([w.y, w.mo, 1]);
        expect(wall(month - 1000, zone).mo).not.toBe(w.mo);

        const week = windowStart(cal('week'), t, zone) as number;
        const ws = wall(week, zone);
        expect(ws.wd).toBe('Mon');
        expect(week).toBeLessThanOrEqual(t);
        expect(t - week).toBeLessThan(7 * D + 2 * H);
        expect(wall(week - 1000, zone).wd).toBe('Sun');
      }),
      { numRuns: 300 },
    );
  });

  it('around DST transitions too (property, instants within hours of a change)', () => {
    const transitions = [
      [BERLIN, utc(2025, 3, 30, 1)],
      [BERLIN, utc(2025, 10, 26, 1)],
      ['America/New_York', utc(2025, 3, 9, 7)],
      ['America/New_York', utc(2025, 11, 2, 6)],
      ['America/Santiago', utc(2024, 9, 8, 4)],
      ['America/Santiago', utc(2024, 4, 7, 3)],
      ['Australia/Lord_Howe', utc(2024, 4, 6, 15)],
    ] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...transitions),
        fc.integer({ min: -30 * H, max: 30 * H }),
        ([zone, at], delta) => {
          const t = Math.floor((at + delta) / 1000) * 1000;
          const w = wall(t, zone);
          const day = windowStart(cal('day'), t, zone) as number;
          expect(day).toBeLessThanOrEqual(t);
          const ds = wall(day, zone);
          expect([ds.y, ds.mo, ds.d]).toEqual([w.y, w.mo, w.d]);
          const before = wall(day - 1000, zone);
          expect([before.y, before.mo, before.d]).not.toEqual([w.y, w.mo, w.d]);
          const hour = windowStart(cal('hour'), t, zone) as number;
          expect(wall(hour, zone).h).toBe(w.h);
          expect(wall(hour - 1000, zone).h).not.toBe(w.h);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('time windows', () => {
  const weekdays = { days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const, start: '08:00', end: '20:00' };

  it('is inside from start (inclusive) to end (exclusive) on listed days, in the policy zone', () => {
    const allow = [weekdays];
    // Wednesday 15 Jan 2025: 08:00 Berlin = 07:00 UTC.
    expect(isWithinTimeWindows(allow, utc(2025, 1, 15, 6, 59), BERLIN)).toBe(false);
    expect(isWithinTimeWindows(allow, utc(2025, 1, 15, 7), BERLIN)).toBe(true);
    expect(isWithinTimeWindows(allow, utc(2025, 1, 15, 18, 59), BERLIN)).toBe(true);
    expect(isWithinTimeWindows(allow, utc(2025, 1, 15, 19), BERLIN)).toBe(false);
    // Saturday.
    expect(isWithinTimeWindows(allow, utc(2025, 1, 18, 12), BERLIN)).toBe(false);
    // 07:30 UTC is 08:30 in Berlin but 07:30 in UTC.
    expect(isWithinTimeWindows(allow, utc(2025, 1, 15, 7, 30), 'UTC')).toBe(false);
  });

  it('a window whose end is before its start runs past midnight and belongs to its start day', () => {
    const allow = [{ days: ['fri'] as const, start: '22:00', end: '02:00' }];
    expect(isWithinTimeWindows(allow, utc(2025, 1, 17, 20, 59), BERLIN)).toBe(false); // Fri 21:59
    expect(isWithinTimeWindows(allow, utc(2025, 1, 17, 21), BERLIN)).toBe(true); // Fri 22:00
    expect(isWithinTimeWindows(allow, utc(2025, 1, 18, 0, 30), BERLIN)).toBe(true); // Sat 01:30
    expect(isWithinTimeWindows(allow, utc(2025, 1, 18, 1), BERLIN)).toBe(false); // Sat 02:00
    expect(isWithinTimeWindows(allow, utc(2025, 1, 17, 0, 30), BERLIN)).toBe(false); // Fri 01:30 (Thu not listed)
    expect(isWithinTimeWindows(allow, utc(2025, 1, 16, 22), BERLIN)).toBe(false); // Thu 23:00
  });

  it('24:00 as an end covers the whole day', () => {
    const allow = [{ days: ['sun'] as const, start: '00:00', end: '24:00' }];
    expect(isWithinTimeWindows(allow, utc(2025, 1, 18, 23), BERLIN)).toBe(true); // Sun 00:00
    expect(isWithinTimeWindows(allow, utc(2025, 1, 19, 22, 59), BERLIN)).toBe(true); // Sun 23:59
    expect(isWithinTimeWindows(allow, utc(2025, 1, 19, 23), BERLIN)).toBe(false); // Mon 00:00
  });

  it('nextWindowOpen: the next opening after now, on the wall clock', () => {
    const allow = [weekdays];
    // Saturday noon → Monday 08:00 CET (07:00 UTC).
    expect(nextWindowOpen(allow, utc(2025, 1, 18, 12), BERLIN)).toBe(utc(2025, 1, 20, 7));
    // Wednesday 06:00 Berlin → same day 08:00.
    expect(nextWindowOpen(allow, utc(2025, 1, 15, 5), BERLIN)).toBe(utc(2025, 1, 15, 7));
    // Wednesday 21:00 Berlin → Thursday 08:00.
    expect(nextWindowOpen(allow, utc(2025, 1, 15, 20), BERLIN)).toBe(utc(2025, 1, 16, 7));
    // Across spring-forward: Saturday 29 March → Monday 31 March 08:00 CEST (06:00 UTC).
    expect(nextWindowOpen(allow, utc(2025, 3, 29, 12), BERLIN)).toBe(utc(2025, 3, 31, 6));
    // The earliest of several windows.
    expect(
      nextWindowOpen(
        [weekdays, { days: ['sun'], start: '10:00', end: '11:00' }],
        utc(2025, 1, 18, 12),
        BERLIN,
      ),
    ).toBe(utc(2025, 1, 19, 9));
  });

  it('nextWindowOpen handles windows that start inside a DST gap', () => {
    // 02:30 does not exist on 30 March 2025 in Berlin: the window opens when the clock jumps to 03:00.
    expect(
      nextWindowOpen([{ days: ['sun'], start: '02:30', end: '04:00' }], utc(2025, 3, 30, 0), BERLIN),
    ).toBe(utc(2025, 3, 30, 1));
    // A window entirely inside the gap never opens that day; the next Sunday's does.
    expect(
      nextWindowOpen([{ days: ['sun'], start: '02:00', end: '02:45' }], utc(2025, 3, 30, 0), BERLIN),
    ).toBe(utc(2025, 4, 6, 0));
  });

  it('nextWindowOpen opens a window where it is inside and nowhere earlier (property)', () => {
    const day = fc.constantFrom('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun');
    const clock = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45))
      .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    const window = fc
      .record({ days: fc.uniqueArray(day, { minLength: 1, maxLength: 3 }), start: clock, end: clock })
      .filter((w) => w.start !== w.end);
    fc.assert(
      fc.property(
        fc.array(window, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: utc(2024, 1, 1), max: utc(2026, 1, 1) }),
        fc.constantFrom('UTC', BERLIN, 'America/New_York'),
        (allow, now, zone) => {
          const opens = nextWindowOpen(allow, now, zone);
          expect(opens).not.toBeNull();
          if (opens === null) return;
          expect(opens).toBeGreaterThan(now);
          expect(isWithinTimeWindows(allow, opens, zone)).toBe(true);
          expect(opens - now).toBeLessThanOrEqual(8 * D);
          // From outside, the window is still closed just before it opens (windows may abut otherwise).
          if (!isWithinTimeWindows(allow, now, zone)) {
            if (opens - 1000 > now) expect(isWithinTimeWindows(allow, opens - 1000, zone)).toBe(false);
            // Boundaries fall on whole quarter hours here, so quarter-hour samples find any earlier opening.
            const quarter = 15 * 60_000;
            for (let t = Math.ceil(now / quarter) * quarter; t < opens; t += quarter) {
              expect(isWithinTimeWindows(allow, t, zone)).toBe(false);
            }
          }
          // Reference check with Intl at a few instants before the opening.
          for (const t of [opens, now + Math.floor((opens - now) / 2)]) {
            const w = wall(t, zone);
            const minute = w.h * 60 + w.mi;
            const wd = w.wd.toLowerCase();
            const prev = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][
              (['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].indexOf(wd) + 6) % 7
            ] as string;
            const inside = allow.some((win) => {
              const [sh, sm] = win.start.split(':').map(Number) as [number, number];
              const [eh, em] = win.end.split(':').map(Number) as [number, number];
              const s = sh * 60 + sm;
              const e = eh * 60 + em;
              const days = win.days as string[];
              return e > s
                ? days.includes(wd) && minute >= s && minute < e
                : (days.includes(wd) && minute >= s) || (days.includes(prev) && minute < e);
            });
            expect(isWithinTimeWindows(allow, t, zone)).toBe(inside);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
