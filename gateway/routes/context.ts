import type { Context } from 'hono';
import { OPERATOR } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import type { Deps, ServiceContext } from '../services/context.ts';

/** The service context of a request authenticated by an agent key: the key's workspace, the key acting. */
export function asAgent(deps: Deps, c: Context<GatewayEnv>): ServiceContext {
  const agent = c.var.agent;
  return {
    deps,
    workspaceId: agent.workspaceId,
    actor: { type: 'agent', id: agent.agentKeyId },
    requestId: c.var.requestId,
    configVersion: c.var.configVersion,
    trace: c.var.trace,
  };
}

/** …by a member token: the member's workspace, the member acting. */
export function asMember(deps: Deps, c: Context<GatewayEnv>): ServiceContext {
  const member = c.var.member;
  return {
    deps,
    workspaceId: member.workspaceId,
    actor: { type: 'member', id: member.memberId },
    requestId: c.var.requestId,
    trace: c.var.trace,
  };
}

/** …by the operator token: no workspace. */
export function asOperator(deps: Deps, c: Context<GatewayEnv>): ServiceContext {
  return { deps, workspaceId: null, actor: OPERATOR, requestId: c.var.requestId };
}

/** …by a business key (issue 12): no workspace (its changes join the operator's audit chain). */
export function asBusiness(deps: Deps, c: Context<GatewayEnv>): ServiceContext {
  return {
    deps,
    workspaceId: null,
    actor: { type: 'business', id: c.var.business.businessId },
    requestId: c.var.requestId,
  };
}
