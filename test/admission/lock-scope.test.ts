import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyKey } from '../e2e/support.ts';
import { TEST_POSTGRES_URL } from '../support/dialects.ts';
import {
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

// DESIGN §8 (issue 20, item 5): across replicas the only lock one workspace's requests queue on is
// the one a decision reading shared state needs. On PostgreSQL, with the workspace's lock held by
// someone else: executes whose policy reads no spend window or history go through; one that does
// waits until the lock is free; and settling the outcome (the receipt) takes no lock at all.
describe('what admission locks on PostgreSQL', () => {
  let gw: TestGateway;
  let tenant: Tenant;
  let holder: postgres.Sql;

  beforeAll(async () => {
    gw = await startTestGateway({ dialect: 'postgres', realClock: true });
    tenant = await createTenant(gw, { name: 'Locks' });
    await registerEcho(gw, 'echo');
    holder = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await holder?.end({ timeout: 1 });
    await gw?.dispose();
  });

  const execute = (key: string, sku: string, amount = 100) =>
    call(gw, 'POST', '/agp/execute', {
      key,
      body: { businessId: 'echo', request: { action: 'order', sku, amount_cents: amount } },
    });

  /** Holds the workspace's admission lock from another session while `during` runs. */
  async function whileLocked<T>(during: () => Promise<T>): Promise<T> {
    await holder.unsafe('SELECT pg_advisory_lock(hashtextextended($1::text, 0))', [tenant.workspaceId]);
    try {
      return await during();
    } finally {
      const [row] = await holder.unsafe<{ unlocked: boolean }[]>(
        'SELECT pg_advisory_unlock(hashtextextended($1::text, 0)) AS unlocked',
        [tenant.workspaceId],
      );
      expect(row?.unlocked).toBe(true);
    }
  }

  it('no policy, rules on the request, a per-transaction limit: no lock, so nothing waits', async () => {
    const rules = await policyKey(gw, tenant, 'rules', {
      currency: 'USD',
      rules: [
        {
          id: 'too-much',
          conditions: [{ context: 'amount', op: 'gt', value: 30_000 }],
          action: 'reject',
          reason: 'too much for one order',
        },
      ],
      spending_limits: [{ id: 'per-order', amount: 20_000, interval: 'per_transaction' }],
    });
    await whileLocked(async () => {
      const answers = await Promise.all([
        execute(tenant.agentKey, 'open'),
        execute(rules, 'bread'),
        execute(rules, 'caviar', 40_000),
        execute(rules, 'huge', 25_000),
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 403, 403]);
      expect(answers.map((a) => a.body.code)).toEqual([
        undefined,
        undefined,
        'POLICY_REJECTED',
        'POLICY_REJECTED',
      ]);
      // Settled with a receipt while the lock is held: the outcome's transaction takes none either.
      expect(typeof answers[0]?.body.receipt).toBe('string');
    });
  });

  it('a rolling spend limit reads shared state: that execute waits for the lock, then goes through', async () => {
    const limited = await policyKey(gw, tenant, 'daily', {
      currency: 'USD',
      spending_limits: [{ id: 'daily', amount: 100_000, interval: 'day', window: 'rolling' }],
    });
    let settled = false;
    const waited = await whileLocked(async () => {
      const pending = execute(limited, 'counted').then((res) => {
        settled = true;
        return res;
      });
      await sleep(500);
      expect(settled).toBe(false);
      // Handed out unawaited: it can only finish once the lock is released.
      return { pending };
    });
    expect((await waited.pending).status).toBe(200);
  });
});
