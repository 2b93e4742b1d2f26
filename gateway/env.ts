import { createFactory } from 'hono/factory';
import type { AgentPrincipal, MemberPrincipal } from './middleware/auth/index.ts';
import type { LogFields } from './middleware/wide-log/index.ts';
import type { Services } from './services/context.ts';

/** Everything on the Hono context, in one place (STYLE §2). */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    log: LogFields;
    services: Services;
    agent: AgentPrincipal;
    member: MemberPrincipal;
  };
}

export const factory = createFactory<GatewayEnv>();
