import { normaliseAmount, requestCurrency } from '../../../policy/amount.ts';
import type { CompiledPolicy, Decision } from '../../../policy/index.ts';
import { type Business, GatewayError } from '../../domain/index.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { requireBusiness } from '../tenancy/index.ts';
import { decideWith } from './decide.ts';
import { loadPolicy } from './policies.ts';

/**
 * What the policy would decide for this request now (or `at`), with live spend and history,
 * without recording, reserving or consuming anything.
 */
export async function simulatePolicy({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: {
    name: string;
    businessId: string;
    request: Record<string, unknown>;
    agentId?: string;
    at?: number;
  };
}): Promise<Decision> {
  const { name } = input;
  const workspaceId = workspaceOf(ctx);
  const policy = await loadPolicy(ctx.deps, workspaceId, name);
  if (!policy) throw new GatewayError('NOT_FOUND', `No policy named ${name}.`);
  const business = await requireBusiness(ctx, input.businessId);
  return simulateWith(ctx, policy, {
    business,
    request: input.request,
    agentId: input.agentId ?? 'simulated-agent',
    at: input.at ?? ctx.deps.clock(),
  });
}

/** One simulated decision by a compiled policy (stored or not): the same facts admission reads. */
export function simulateWith(
  ctx: ServiceContext,
  policy: CompiledPolicy,
  input: {
    business: Pick<Business, 'id' | 'category'>;
    request: Record<string, unknown>;
    agentId: string;
    at: number;
  },
): Promise<Decision> {
  return decideWith(ctx.deps.db.reader, {
    policy,
    workspaceId: workspaceOf(ctx),
    request: input.request,
    amount: normaliseAmount(input.request),
    currency: requestCurrency(input.request, policy.currency),
    business: input.business,
    agentId: input.agentId,
    now: input.at,
  });
}
