import { writeFileSync } from 'node:fs';
import { signInWithToken } from '../../gateway/services/console/console-sessions.ts';
import { putPolicy } from '../../gateway/services/policy/policies.ts';
import { createAgentKey } from '../../gateway/services/tenancy/keys.ts';
import { rotateMemberToken } from '../../gateway/services/tenancy/members.ts';
import type { GatewaySetup } from '../servers/gateway.ts';

/** How many executes the console bench's ledger holds (issue 14: pages with 10,000 transactions). */
const TRANSACTIONS = Number(process.env.BENCH_CONSOLE_TRANSACTIONS ?? 10_000);
/** One in this many asks for approval, so the queue and the approval pages have work. */
const PARKED_EVERY = 20;

/**
 * The console pages bench (bench/console-pages.ts): a policy that parks large orders, TRANSACTIONS
 * executes through the gateway's own HTTP app (every row as production writes it), a console
 * session for the workspace admin; what the bench needs is written to BENCH_CONSOLE_OUT.
 */
const setup: GatewaySetup = async (gateway, tenant) => {
  const deps = gateway.deps;
  const ctx = {
    deps,
    workspaceId: tenant.workspaceId,
    actor: { type: 'member' as const, id: tenant.adminMemberId },
  };
  await putPolicy({
    ctx,
    input: {
      name: 'default',
      document: {
        rules: [
          {
            id: 'large-orders',
            priority: 1,
            conditions: [{ context: 'amount', op: 'gte', value: 50_000 }],
            action: 'require_approval',
            stage_index: 0,
          },
        ],
        routing_stages: [
          {
            stage_index: 0,
            role: 'admin',
            tier: 'standard',
            quorum: 1,
            approval_timeout_seconds: 86_400,
            on_approval_timeout: 'reject',
          },
        ],
      },
    },
  });
  const agents = await Promise.all(
    ['buyer', 'planner', 'scout'].map((agentId) => createAgentKey({ ctx, input: { agentId } })),
  );
  let transactionId = '';
  let approvalId = '';
  const batch = 64;
  for (let i = 0; i < TRANSACTIONS; i += batch) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(batch, TRANSACTIONS - i) }, async (_, j) => {
        const n = i + j;
        const agent = agents[n % agents.length];
        const amount = n % PARKED_EVERY === 0 ? 60_000 : 100 + (n % 900);
        const res = await gateway.app.request('/agp/execute', {
          method: 'POST',
          headers: { authorization: `Bearer ${agent?.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            businessId: tenant.businessId,
            request: { sku: `sku-${n}`, amount_cents: amount },
          }),
        });
        return (await res.json()) as { transactionId?: string; approval?: { id: string } };
      }),
    );
    for (const a of answers) {
      if (a.transactionId) transactionId = a.transactionId;
      if (a.approval) approvalId = a.approval.id;
    }
  }
  const { token: memberToken } = await rotateMemberToken({ ctx, input: { id: tenant.adminMemberId } });
  const session = await signInWithToken({ deps, memberToken });
  if (!session) throw new Error('the console refused the admin token');
  const out = process.env.BENCH_CONSOLE_OUT;
  if (out) writeFileSync(out, JSON.stringify({ session: session.token, transactionId, approvalId }));
};

export default setup;
