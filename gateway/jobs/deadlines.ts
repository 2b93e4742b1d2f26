import { newId } from '../ids.ts';
import type { Services } from '../services/context.ts';
import { type Job, startPeriodicJob } from './periodic.ts';

/**
 * Fires approval deadlines from inside the gateway (DESIGN §6: no external cron). It reads the
 * database, so deadlines that passed while the process was down fire after start; each firing is
 * one conditional claim, so two processes never fire one deadline twice.
 */
export async function fireDueDeadlines(ctx: Services, batch = 100): Promise<number> {
  const now = ctx.clock();
  let fired = 0;
  for (const due of await ctx.store.dueStages(now, batch)) {
    // Audited in the same transaction as the firing (DESIGN §9).
    if (await ctx.store.fireDeadline(due, now, newId('audit'))) fired += 1;
  }
  return fired;
}

export function startDeadlineJob(ctx: Services, everyMs = 1000): Job {
  // At start too: deadlines that passed while the process was down fire at once.
  return startPeriodicJob('deadline job', () => fireDueDeadlines(ctx), {
    everyMs,
    logger: ctx.logger,
    runAtStart: true,
  });
}
