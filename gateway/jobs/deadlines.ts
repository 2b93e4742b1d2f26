import { auditEvent } from '../services/audit.ts';
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
    const result = await ctx.store.fireDeadline(due, now);
    if (!result) continue;
    fired += 1;
    await ctx.store.appendAudit(
      auditEvent({
        workspaceId: result.approval.workspaceId,
        actor: { type: 'system', id: null },
        action: result.outcome === 'escalated' ? 'approval.escalated' : 'approval.expired',
        target: result.approval.id,
        data: { position: due.position },
        at: now,
      }),
    );
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
