import { normaliseAmount } from '../../policy/amount.ts';
import { canonicalHash } from '../../policy/canonical.ts';
import { amountLimitMessage, exceedsCeiling } from '../../policy/execute-mode.ts';
import { GatewayError } from '../errors.ts';
import type { AgentPrincipal } from '../middleware/auth/index.ts';
import { hashSecret, newSecret } from '../secrets.ts';
import { requireBusiness } from './businesses.ts';
import type { Services } from './context.ts';

export interface PrepareResult {
  confirmationToken: string;
  expiresAt: string;
  summary: string;
}

/**
 * Issues a single-use confirmation token bound to the business, the request's RFC 8785 hash and
 * the agent key that asked (DESIGN §4). Strict mode refuses an amount over the ceiling here already.
 */
export async function prepareExecute({
  ctx,
  agent,
  input,
}: {
  ctx: Services;
  agent: AgentPrincipal;
  input: { businessId: string; request: Record<string, unknown> };
}): Promise<PrepareResult> {
  const { executeMode, maxExecuteAmount, confirmationTokenTtlMs } = ctx.config;
  const amount = normaliseAmount(input.request);
  if (exceedsCeiling(executeMode, amount, maxExecuteAmount)) {
    throw new GatewayError('AMOUNT_LIMIT_EXCEEDED', amountLimitMessage(maxExecuteAmount));
  }
  const business = await requireBusiness(ctx, input.businessId);
  const adapter = ctx.adapters.adapterFor(business);
  const summary =
    adapter.describe?.(input.request).summary ??
    `Execute on ${business.name}${amount === null ? '' : ` for ${amount} cents`}`;
  const now = ctx.clock();
  const token = newSecret('confirmationToken');
  const expiresAt = now + confirmationTokenTtlMs;
  await ctx.store.insertConfirmationToken({
    tokenHash: hashSecret(token),
    workspaceId: agent.workspaceId,
    agentKeyId: agent.agentKeyId,
    businessId: business.id,
    requestHash: canonicalHash(input.request),
    summary,
    createdAt: now,
    expiresAt,
  });
  return { confirmationToken: token, expiresAt: new Date(expiresAt).toISOString(), summary };
}
