import { countWorkspaces, getBusiness } from './repositories/tenancy.ts';
import { type Deps, systemContext } from './services/context.ts';
import { createAgentKey, createWorkspace, registerBusiness } from './services/tenancy/index.ts';

export interface DemoWorkspace {
  workspaceId: string;
  adminToken: string;
  agentKey: string;
  businessId: string;
}

/**
 * Development only: on an empty database, a demo workspace with the echo business and an agent key,
 * so `npm start` gives something to call at once. Secrets are printed once, like every secret.
 */
export async function bootstrapDemo(deps: Deps): Promise<DemoWorkspace | undefined> {
  if (deps.config.nodeEnv === 'production' || (await countWorkspaces(deps.db.reader)) > 0) return undefined;
  const ctx = systemContext(deps);
  const { workspace, adminToken, adminMemberId } = await createWorkspace({
    ctx,
    input: { name: 'Demo', adminEmail: 'admin@demo.local' },
  });
  const existing = await getBusiness(deps.db.reader, 'echo');
  if (!existing) {
    await registerBusiness({
      ctx,
      input: {
        id: 'echo',
        name: 'Echo Shop',
        category: 'demo',
        description: 'A demo business: a small catalog, prices and orders.',
        adapter: { type: 'echo' },
      },
    });
  }
  const key = await createAgentKey({
    ctx: { deps, workspaceId: workspace.id, actor: { type: 'member', id: adminMemberId } },
    input: { agentId: 'demo-agent' },
  });
  return { workspaceId: workspace.id, adminToken, agentKey: key.key, businessId: 'echo' };
}

export function demoInstructions(demo: DemoWorkspace, baseUrl: string, mode: string): string {
  const body = JSON.stringify({
    businessId: demo.businessId,
    request: { sku: 'coffee', quantity: 1, amount_cents: 90 },
  });
  const auth = `-H 'Authorization: Bearer ${demo.agentKey}' -H 'Content-Type: application/json'`;
  const lines = [
    '',
    'Demo workspace created (shown once; delete ./data to start over):',
    `  workspace    ${demo.workspaceId}`,
    `  agent key    ${demo.agentKey}`,
    `  admin token  ${demo.adminToken}   (member API: /v1/keys, /v1/members)`,
    '',
    'Try it:',
  ];
  if (mode === 'open') {
    lines.push(`  curl -s ${baseUrl}/agp/execute ${auth} -d '${body}'`);
  } else {
    lines.push(
      `  TOKEN=$(curl -s ${baseUrl}/agp/execute/prepare ${auth} -d '${body}' | sed -E 's/.*"confirmationToken":"([^"]+)".*/\\1/')`,
      `  curl -s ${baseUrl}/agp/execute ${auth} -H "X-Confirmation-Token: $TOKEN" -d '${body}'`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
