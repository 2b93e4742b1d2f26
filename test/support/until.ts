import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` every `everyMs` until it answers true; fails after `withinMs` naming what waited. */
export async function until(
  check: () => Promise<boolean> | boolean,
  withinMs: number,
  what = 'the condition',
  everyMs = 50,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`${what} did not hold within ${withinMs} ms`);
    await sleep(everyMs);
  }
}
