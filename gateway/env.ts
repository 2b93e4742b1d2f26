import { createFactory } from 'hono/factory';
import type { AgentPrincipal, MemberPrincipal } from './domain/index.ts';
import type { LogFields } from './middleware/wide-log/index.ts';

/** Everything on the Hono context, in one place (STYLE §2). */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    log: LogFields;
    agent: AgentPrincipal;
    member: MemberPrincipal;
  };
}

export const factory = createFactory<GatewayEnv>();
