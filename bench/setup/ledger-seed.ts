import { writeFileSync } from 'node:fs';
import { putPolicy } from '../../gateway/services/policy/policies.ts';
import { rotateMemberToken } from '../../gateway/services/tenancy/members.ts';
import { seedLedger } from '../../test/support/ledger-seed.ts';
import type { GatewaySetup } from '../servers/gateway.ts';

/** How many transactions the read-path bench's ledger holds (issue 18: 100,000). */
const TRANSACTIONS = Number(process.env.BENCH_LEDGER_TRANSACTIONS ?? 100_000);
const DAY = 86_400_000;

/**
 * The read-path bench (bench/read-path.ts): the bench workspace's ledger filled with TRANSACTIONS
 * rows over the last 30 days, written straight into the tables (test/support/ledger-seed.ts, as
 * production writes them: every status, approvals, spend), a policy `reporting` with limits for
 * the summary to report on (not `default`: admission would check them on every execute), and an
 * admin member token, written to BENCH_READ_OUT.
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
      name: 'reporting',
      document: {
        spending_limits: [
          { id: 'daily', amount: 50_000_000, interval: 'day', window: 'rolling' },
          {
            id: 'weekly-travel',
            amount: 50_000_000,
            interval: 'week',
            window: 'calendar',
            categories: ['travel'],
          },
          { id: 'monthly', amount: 500_000_000, interval: 'month', window: 'rolling' },
        ],
      },
    },
  });
  const started = Date.now();
  await seedLedger(deps.db, {
    workspaceId: tenant.workspaceId,
    agentKeyId: tenant.agentKeyId,
    count: TRANSACTIONS,
    now: Date.now() - 1_000,
    spanMs: 30 * DAY,
  });
  const seedMs = Date.now() - started;
  const { token } = await rotateMemberToken({ ctx, input: { id: tenant.adminMemberId } });
  const out = process.env.BENCH_READ_OUT;
  if (out) writeFileSync(out, JSON.stringify({ token, transactions: TRANSACTIONS, seedMs }));
};

export default setup;
