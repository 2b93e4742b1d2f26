import { amountPath, hasInvalidAmount, normaliseAmount } from '../../../policy/amount.ts';
import { canonicalHash } from '../../../policy/canonical.ts';
import { amountLimitMessage, exceedsCeiling } from '../../../policy/execute-mode.ts';
import { type AgentPrincipal, GatewayError, storableText } from '../../domain/index.ts';
import { insertToken } from '../../repositories/tokens.ts';
import { hashSecret, newSecret } from '../../secrets.ts';
import type { ServiceContext } from '../context.ts';
import { requireCallableBusiness } from '../tenancy/index.ts';
import { invalidAmount } from './answers.ts';

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
  ctx: ServiceContext;
  agent: AgentPrincipal;
  input: { businessId: string; request: Record<string, unknown> };
}): Promise<PrepareResult> {
  const { deps } = ctx;
  const { executeMode, maxExecuteAmount, confirmationTokenTtlMs } = deps.config;
  const amount = normaliseAmount(input.request);
  if (executeMode === 'strict' && hasInvalidAmount(input.request)) {
    throw invalidAmount(amountPath(input.request));
  }
  if (exceedsCeiling(executeMode, amount, maxExecuteAmount)) {
    throw new GatewayError('AMOUNT_LIMIT_EXCEEDED', amountLimitMessage(maxExecuteAmount));
  }
  const business = await requireCallableBusiness(ctx, input.businessId);
  const adapter = deps.adapters.adapterFor(business);
  // The adapter may quote the request, which may hold a NUL; the summary is stored as text.
  const summary = storableText(
    adapter.describe?.(input.request).summary ??
      `Execute on ${business.name}${amount === null ? '' : ` for ${amount} cents`}`,
  );
  const now = deps.clock();
  const token = newSecret('confirmationToken');
  const expiresAt = now + confirmationTokenTtlMs;
  const stored = {
    tokenHash: hashSecret(token),
    workspaceId: agent.workspaceId,
    agentKeyId: agent.agentKeyId,
    businessId: business.id,
    requestHash: canonicalHash(input.request),
    summary,
    createdAt: now,
    expiresAt,
  };
  await deps.db.transaction({}, (tx) => insertToken(tx, stored));
  return { confirmationToken: token, expiresAt: new Date(expiresAt).toISOString(), summary };
}
