import { writeFileSync } from 'node:fs';
import type { ServiceContext } from '../../gateway/services/context.ts';
import { putPolicy } from '../../gateway/services/policy/policies.ts';
import { createAgentKey } from '../../gateway/services/tenancy/keys.ts';
import { createWorkspace } from '../../gateway/services/tenancy/workspaces.ts';
import type { GatewaySetup } from '../servers/gateway.ts';

/**
 * Issue 20's serialisation scenario: seven more workspaces beside the bench's own, an agent key in
 * each (written to BENCH_KEYS_FILE as JSON), and with BENCH_LIMITS=1 a policy of three spending
 * limits (per transaction, a rolling day, a calendar month) in all eight, large enough never to
 * refuse: every admission then reads spend under its workspace's lock.
 */
export const THREE_LIMITS = {
  currency: 'USD',
  spending_limits: [
    { id: 'per-order', amount: 100_000, interval: 'per_transaction' },
    { id: 'daily', amount: 1_000_000_000_000, interval: 'day', window: 'rolling' },
    { id: 'month', amount: 1_000_000_000_000, interval: 'month', window: 'calendar' },
  ],
};

const setup: GatewaySetup = async (gateway, tenant) => {
  const deps = gateway.deps;
  const operator: ServiceContext = { deps, workspaceId: null, actor: { type: 'operator', id: null } };
  const member = (workspaceId: string, id: string): ServiceContext => ({
    deps,
    workspaceId,
    actor: { type: 'member', id },
  });
  const limits = process.env.BENCH_LIMITS === '1';
  const keys: string[] = [];
  if (limits)
    await putPolicy({
      ctx: member(tenant.workspaceId, tenant.adminMemberId),
      input: { name: 'default', document: THREE_LIMITS },
    });
  for (let i = 1; i < 8; i++) {
    const { workspace, adminMemberId } = await createWorkspace({
      ctx: operator,
      input: { name: `Bench ${i}`, adminEmail: `bench${i}@warden.test` },
    });
    const ctx = member(workspace.id, adminMemberId);
    if (limits) await putPolicy({ ctx, input: { name: 'default', document: THREE_LIMITS } });
    keys.push((await createAgentKey({ ctx, input: { agentId: `bench-agent-${i}` } })).key);
  }
  const file = process.env.BENCH_KEYS_FILE;
  if (!file) throw new Error('BENCH_KEYS_FILE is not set');
  writeFileSync(file, JSON.stringify(keys));
};

export default setup;
