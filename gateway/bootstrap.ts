import { countWorkspaces, getBusiness } from './repositories/tenancy.ts';
import { type Deps, systemContext } from './services/context.ts';
import { putPolicy } from './services/policy/index.ts';
import { createAgentKey, createWorkspace, registerBusiness } from './services/tenancy/index.ts';

export interface DemoWorkspace {
  workspaceId: string;
  adminEmail: string;
  adminToken: string;
  agentKey: string;
  businessId: string;
}

/** Orders above this many cents wait for a person in the demo workspace. */
export const DEMO_APPROVAL_OVER_CENTS = 10_000;

/**
 * The demo workspace's default policy: orders over $100.00 are parked for the workspace's admins,
 * so the admin token printed at start can approve them in the console; everything else executes.
 */
export const DEMO_POLICY = {
  currency: 'USD',
  rules: [
    {
      id: 'large-orders',
      conditions: [{ context: 'amount', op: 'gt', value: DEMO_APPROVAL_OVER_CENTS }],
      action: 'require_approval',
      stage_index: 0,
      reason: 'Orders over $100.00 need an admin’s approval',
    },
  ],
  routing_stages: [
    { stage_index: 0, role: 'admin', approval_timeout_seconds: 86_400, on_approval_timeout: 'reject' },
  ],
} as const;

/** The two demo orders, both items the echo business lists (adapters/echo): one small, one parked. */
export const DEMO_ORDERS = {
  small: { sku: 'sticker', quantity: 1, amount_cents: 50 },
  large: { sku: 'grinder', quantity: 1, amount_cents: 12_900 },
} as const;

/**
 * Development only: on an empty database, a demo workspace with the echo business, an agent key and
 * a policy that parks large orders, so `npm start` gives something to call at once. Secrets are
 * printed once, like every secret.
 */
export async function bootstrapDemo(deps: Deps): Promise<DemoWorkspace | undefined> {
  if (deps.config.nodeEnv === 'production' || (await countWorkspaces(deps.db.reader)) > 0) return undefined;
  const ctx = systemContext(deps);
  const adminEmail = 'admin@demo.local';
  const { workspace, adminToken, adminMemberId } = await createWorkspace({
    ctx,
    input: { name: 'Demo', adminEmail },
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
  const asAdmin = { deps, workspaceId: workspace.id, actor: { type: 'member' as const, id: adminMemberId } };
  await putPolicy({ ctx: asAdmin, input: { name: 'default', document: DEMO_POLICY } });
  const key = await createAgentKey({ ctx: asAdmin, input: { agentId: 'demo-agent' } });
  return { workspaceId: workspace.id, adminEmail, adminToken, agentKey: key.key, businessId: 'echo' };
}

export interface DemoSettings {
  /** Where the gateway answers, as a person on this machine reaches it. */
  baseUrl: string;
  mode: 'open' | 'confirm' | 'strict';
  /** AGENR_MAX_EXECUTE_AMOUNT, in cents: strict mode refuses more before any policy. */
  maxExecuteAmount: number;
}

/** The shell lines that execute `request` under the execute mode: one curl, or prepare then execute. */
function executeLines(demo: DemoWorkspace, settings: DemoSettings, request: object): string[] {
  const { baseUrl, mode } = settings;
  const body = JSON.stringify({ businessId: demo.businessId, request });
  const auth = `-H 'Authorization: Bearer ${demo.agentKey}' -H 'Content-Type: application/json'`;
  if (mode === 'open') return [`  curl -s ${baseUrl}/agp/execute ${auth} -d '${body}'`];
  return [
    `  TOKEN=$(curl -s ${baseUrl}/agp/execute/prepare ${auth} -d '${body}' | sed -E 's/.*"confirmationToken":"([^"]+)".*/\\1/')`,
    `  curl -s ${baseUrl}/agp/execute ${auth} -H "X-Confirmation-Token: $TOKEN" -d '${body}'`,
  ];
}

/**
 * The start banner on a fresh database: the credentials (shown once), where the console and the API
 * reference are, and two orders to try, the second parked until someone approves it in the console.
 */
export function demoInstructions(demo: DemoWorkspace, settings: DemoSettings): string {
  const { baseUrl } = settings;
  const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;
  const lines = [
    '',
    'Demo workspace created (shown once; delete ./data to start over):',
    `  workspace    ${demo.workspaceId}`,
    `  agent key    ${demo.agentKey}`,
    `  admin token  ${demo.adminToken}   (${demo.adminEmail}; signs in to the console and calls /v1/*)`,
    '',
    `Console        ${baseUrl}/console   (sign in with the admin token)`,
    `API reference  ${baseUrl}/docs`,
    '',
    `The demo policy lets orders up to ${dollars(DEMO_APPROVAL_OVER_CENTS)} through and parks larger ones for an admin.`,
    '',
    `1. Order a ${DEMO_ORDERS.small.sku} (${dollars(DEMO_ORDERS.small.amount_cents)}): 200, "status":"succeeded"`,
    ...executeLines(demo, settings, DEMO_ORDERS.small),
    '',
  ];
  const large = DEMO_ORDERS.large.amount_cents;
  if (settings.mode === 'strict' && large > settings.maxExecuteAmount) {
    lines.push(
      `2. Orders over ${settings.maxExecuteAmount} cents are refused in strict mode (AGENR_MAX_EXECUTE_AMOUNT)`,
      `   before the policy sees them; start with AGENR_EXECUTE_POLICY=open to see an approval.`,
      '',
    );
  } else {
    lines.push(
      `2. Order a ${DEMO_ORDERS.large.sku} (${dollars(large)}): 202, "status":"pending_approval", parked by the policy`,
      ...executeLines(demo, settings, DEMO_ORDERS.large),
      `   Approve it in the console: ${baseUrl}/console/approvals`,
      `   Then its status says "succeeded": curl -s ${baseUrl}/agp/status/<transactionId> -H 'Authorization: Bearer ${demo.agentKey}'`,
      '',
    );
  }
  return lines.join('\n');
}
