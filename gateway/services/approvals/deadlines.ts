import { newId } from '../../ids.ts';
import { dueStages, workspaceOfApproval } from '../../repositories/approvals.ts';
import { type Deps, jobContext } from '../context.ts';
import { fireDeadline } from './stage-machine.ts';

/**
 * Fires approval deadlines from inside the gateway (DESIGN §6: no external cron). It reads the
 * database, so deadlines that passed while the process was down fire after start; each firing is
 * one conditional claim, audited in the same transaction, so two processes never fire one twice.
 */
export async function fireDueDeadlines(deps: Deps, batch = 100): Promise<number> {
  const now = deps.clock();
  let fired = 0;
  for (const due of await dueStages(deps.db.reader, now, batch)) {
    const audit = {
      id: newId('audit'),
      actorType: 'system' as const,
      actorId: null,
      target: due.approvalId,
      createdAt: now,
    };
    const workspaceId = await workspaceOfApproval(deps.db.reader, due.approvalId);
    if (workspaceId === undefined) continue;
    const ctx = jobContext(deps, 'deadlines', workspaceId);
    const result = await deps.db.transaction({ workspaceId }, (tx) =>
      fireDeadline(tx, ctx, { due, now, audit }),
    );
    if (result) fired += 1;
  }
  return fired;
}
