import { createFactory } from 'hono/factory';
import type { AgentPrincipal, BusinessPrincipal, MemberPrincipal } from './domain/index.ts';
import type { LogFields } from './middleware/wide-log/index.ts';
import type { Traced } from './tracing/index.ts';

/** Everything on the Hono context, in one place (STYLE §2). */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    log: LogFields;
    agent: AgentPrincipal;
    /** The config version the agent's authentication read (services/platform/config-cache.ts). */
    configVersion: number;
    member: MemberPrincipal;
    /** A business key's business (issue 12). */
    business: BusinessPrincipal;
    /** Issue 24: the request's span; undefined when the request is not traced. */
    trace: Traced | undefined;
  };
}

export const factory = createFactory<GatewayEnv>();
