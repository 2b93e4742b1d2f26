import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import type { AdapterConfig } from '../../adapters/types.ts';
import { loadConfig } from '../../config/index.ts';
import { createGateway, type Gateway } from '../../gateway/app.ts';
import { registerBusiness } from '../../gateway/services/tenancy/businesses.ts';
import { createAgentKey } from '../../gateway/services/tenancy/keys.ts';
import { createWorkspace } from '../../gateway/services/tenancy/workspaces.ts';
import { announceReady, onStop, requireEnv } from '../lib/child.ts';

/**
 * A real gateway process, configured from the environment like `gateway/main.ts` (DATABASE_URL,
 * AGENR_EXECUTE_POLICY, LOG_LEVEL, …; the parent sets them). Before listening it creates, through the
 * services, a workspace, an agent key and an `http` business `shop` pointing at UPSTREAM_URL, and sends
 * the key to the parent with its port.
 *
 * BENCH_BUSINESS_ADAPTER=echo makes `shop` the in-process echo adapter, `module:<name>` a module adapter
 * from ADAPTERS_DIR (a worker, issue 12); unset, the http business above. BENCH_BUSINESS_SIGNATURES=
 * webhooks-only turns its RFC 9421 signature off (issue 24). BENCH_TRACE_HOOKS=none builds the gateway
 * without the tracing middleware (issue 24: tracing off against no tracing code).
 *
 * Hook for later scenarios: BENCH_GATEWAY_SETUP names a module whose default export
 * `(gateway, tenant) => Promise<void>` runs after that (install a policy, more keys, …).
 */
export interface BenchTenant {
  workspaceId: string;
  adminMemberId: string;
  agentKeyId: string;
  businessId: string;
}
export type GatewaySetup = (gateway: Gateway, tenant: BenchTenant) => Promise<void>;

const upstreamUrl = requireEnv('UPSTREAM_URL');
const config = loadConfig(process.env);
const gateway = await createGateway({ config, traceRequests: process.env.BENCH_TRACE_HOOKS !== 'none' });
const deps = gateway.deps;
const operator = { deps, workspaceId: null, actor: { type: 'operator' as const, id: null } };

const { workspace, adminMemberId } = await createWorkspace({
  ctx: operator,
  input: { name: 'Bench', adminEmail: 'bench@warden.test' },
});
const key = await createAgentKey({
  ctx: { deps, workspaceId: workspace.id, actor: { type: 'member', id: adminMemberId } },
  input: { agentId: 'bench-agent' },
});
const businessId = 'shop';
const adapterChoice = process.env.BENCH_BUSINESS_ADAPTER ?? 'http';
const adapter: AdapterConfig =
  adapterChoice === 'echo'
    ? { type: 'echo' }
    : adapterChoice.startsWith('module:')
      ? { type: 'module', name: adapterChoice.slice('module:'.length) }
      : {
          type: 'http',
          baseUrl: upstreamUrl,
          // Issue 24: BENCH_BUSINESS_SIGNATURES=webhooks-only forwards without the RFC 9421 signature.
          ...(process.env.BENCH_BUSINESS_SIGNATURES === 'webhooks-only'
            ? { signatures: { httpMessageSignatures: false } }
            : {}),
        };
await registerBusiness({
  ctx: operator,
  input: { id: businessId, name: 'Shop', category: 'retail', adapter },
});

const setupPath = process.env.BENCH_GATEWAY_SETUP;
if (setupPath) {
  const mod: unknown = await import(pathToFileURL(setupPath).href);
  const setup = typeof mod === 'object' && mod !== null && 'default' in mod ? mod.default : undefined;
  if (typeof setup !== 'function') throw new Error(`${setupPath}: no default export function`);
  await (setup as GatewaySetup)(gateway, {
    workspaceId: workspace.id,
    adminMemberId,
    agentKeyId: key.id,
    businessId,
  });
}

const server = serve({ fetch: gateway.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  announceReady({
    port: info.port,
    key: key.key,
    businessId,
    mode: config.executeMode,
    database: deps.db.dialect,
  });
});
onStop(async () => {
  await new Promise<void>((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
  await gateway.close();
});
