import { GatewayError, type Pricing } from '../../domain/index.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { getPricing as read, replacePricing } from '../../repositories/pricing.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

/** The workspace's evaluation prices (issue 14): the default and each agent's own. */
export function getPricing({ ctx }: { ctx: ServiceContext }): Promise<Pricing> {
  return read(ctx.deps.db.reader, workspaceOf(ctx));
}

/**
 * Replaces the prices (an agent left out falls back to the default), audited in the same
 * transaction. The change bumps the config version: admissions from then on snapshot the new
 * prices; earlier transactions keep the price they were admitted at.
 */
export async function updatePricing({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: Pricing;
}): Promise<Pricing> {
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  const done = await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    // What it was, read under the workspace scope: the audit event records the change exactly.
    const before = await read(tx, workspaceId);
    if (!(await replacePricing(tx, workspaceId, input, at))) return false;
    await appendAudit(tx, auditEvent(ctx, 'pricing.updated', workspaceId, { before, after: input }, at));
    return true;
  });
  if (!done) throw new GatewayError('NOT_FOUND', 'No such workspace.');
  return read(ctx.deps.db.reader, workspaceId);
}
