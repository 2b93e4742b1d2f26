import type { Logger } from 'pino';

export interface Job {
  /** Stops the timer and waits for a run in progress (then the last run, for a job that has one). */
  stop(): Promise<void>;
}

/**
 * Runs `work` every `everyMs`, one run at a time (a slow run delays the next, never overlaps it),
 * off the event loop's keep-alive; a failing run is logged and the next one tries again.
 */
export function startPeriodicJob(
  name: string,
  work: () => Promise<unknown>,
  options: { everyMs: number; logger: Logger; runAtStart?: boolean; runAtStop?: boolean },
): Job {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = running.then(work).catch((err) => options.logger.error({ err, job: name }, `${name} failed`));
  };
  if (options.runAtStart) tick();
  const timer = setInterval(tick, options.everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      if (options.runAtStop) tick();
      await running;
    },
  };
}
