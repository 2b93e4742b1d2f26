import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../gateway/ids.ts';
import { appendAudit } from '../../gateway/repositories/audit.ts';
import { signInWithToken } from '../../gateway/services/console/console-sessions.ts';
import { registerBusiness } from '../../gateway/services/tenancy/businesses.ts';
import {
  call,
  createTenant,
  operator,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { measureLoop, SEED_BUSINESSES, seedLedger } from '../support/ledger-seed.ts';

/**
 * Issue 18: at 100,000 transactions on SQLite (whose driver runs every statement synchronously),
 * no read a member can make holds the event loop for more than 10 ms: the summary, the analytics,
 * the lists and their filters, the approvals, and the console pages over them.
 *
 * Each read runs a few times after a warm-up, the garbage of the seeding collected first, and the
 * longest stretch without a loop turn of its best run must stay under 10 ms: on a machine shared
 * with other test files, a run can lose the CPU in the middle of a turn, never gain one.
 * Responses are not checked against the OpenAPI document here, as in production (validating a
 * large answer is test-only work). bench/read-path.ts measures the same reads under load.
 */

const TRANSACTIONS = 100_000;
const DAY = 86_400_000;
const LIMIT_MS = 10;
const RUNS = 5;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('no read holds the event loop for more than 10 ms at 100,000 transactions (SQLite)', () => {
  let gw: TestGateway;
  let tenant: Tenant;
  let token: string;
  let cookie: string;

  beforeAll(async () => {
    gw = await startTestGateway({ checkResponses: false });
    tenant = await createTenant(gw, { agentId: 'buyer' });
    for (const b of SEED_BUSINESSES) {
      await registerBusiness({ ctx: operator(gw), input: { ...b, name: b.id, adapter: { type: 'echo' } } });
    }
    const policy = await call(gw, 'PUT', '/v1/policies/default', {
      key: tenant.adminToken,
      body: {
        spending_limits: [
          { id: 'daily', amount: 10_000_000, interval: 'day' },
          { id: 'monthly', amount: 90_000_000, interval: 'month', window: 'calendar' },
          { id: 'food-all-time', amount: 900_000_000, interval: 'all_time', categories: ['food'] },
        ],
      },
    });
    expect(policy.status).toBe(201);
    gw.now.advance(17 * 60_000);
    await seedLedger(gw.db, {
      workspaceId: tenant.workspaceId,
      agentKeyId: tenant.agentKeyId,
      count: TRANSACTIONS,
      now: gw.now.value - 1_000,
      spanMs: 30 * DAY,
    });
    // An audit log of some length too: approvals decided, keys, policies.
    await gw.db.transaction({ workspaceId: tenant.workspaceId }, async (tx) => {
      for (let i = 0; i < 5_000; i++) {
        await appendAudit(tx, {
          id: newId('audit'),
          workspaceId: tenant.workspaceId,
          actorType: 'member',
          actorId: `mem_${i % 5}`,
          action: i % 3 ? 'approval.decided' : 'key.created',
          target: `apr_${i}`,
          data: { decision: 'approve' },
          createdAt: gw.now.value - (5_000 - i) * 60_000,
        });
      }
    });
    token = tenant.adminToken;
    const session = await signInWithToken({ deps: gw.deps, memberToken: token });
    if (!session) throw new Error('no console session');
    cookie = session.token;
  }, 180_000);
  afterAll(() => gw.dispose());

  const api = (path: string) => async () => {
    const res = await call(gw, 'GET', path, { key: token });
    if (res.status !== 200)
      throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  };
  const page =
    (path: string, fresh = false) =>
    async () => {
      // The overview reuses analytics for 30 s: a fresh view computes them again.
      if (fresh) gw.now.advance(31_000);
      const res = await gw.app.request(`http://gateway.test${path}`, {
        headers: { cookie: `warden_console=${cookie}` },
      });
      const html = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${html.slice(0, 300)}`);
    };
  const iso = (ms: number) => new Date(ms).toISOString();

  const reads: [string, () => () => Promise<void>][] = [
    ['summary, a day', () => api('/v1/transactions/summary?interval=day')],
    ['summary, a month', () => api('/v1/transactions/summary?interval=month')],
    ['analytics, 30 days by day', () => api('/v1/analytics')],
    [
      'analytics, 7 days by hour',
      () => api(`/v1/analytics?granularity=hour&from=${iso(gw.now.value - 7 * DAY)}`),
    ],
    [
      'analytics, 2,000 hours',
      () => api(`/v1/analytics?granularity=hour&from=${iso(gw.now.value - 83 * DAY)}`),
    ],
    ['transactions', () => api('/v1/transactions?limit=200')],
    ['transactions, a rare status', () => api('/v1/transactions?status=pending_approval')],
    ['transactions, an agent with none', () => api('/v1/transactions?agentId=nobody')],
    ['transactions, evaluations', () => api('/v1/transactions?operation=evaluate')],
    ['transactions, large amounts', () => api('/v1/transactions?amountMin=5090')],
    [
      'transactions, a day weeks ago',
      () => api(`/v1/transactions?from=${iso(gw.now.value - 20 * DAY)}&to=${iso(gw.now.value - 19 * DAY)}`),
    ],
    ['audit', () => api('/v1/audit?limit=200')],
    ['audit, an action never taken', () => api('/v1/audit?action=nothing.here')],
    ['approvals', () => api('/v1/approvals?limit=200')],
    ['approvals, pending', () => api('/v1/approvals?status=pending&limit=200')],
    ['approvals, approved', () => api('/v1/approvals?status=approved&limit=200')],
    ['console overview', () => page('/console', true)],
    ['console overview, 24 hours', () => page('/console?range=24h', true)],
    ['console transactions', () => page('/console/transactions')],
    ['console transactions, filtered', () => page('/console/transactions?status=unknown&agent=nobody')],
    ['console audit log', () => page('/console/audit')],
    ['console approvals', () => page('/console/approvals')],
    ['console approval history', () => page('/console/approvals?tab=history')],
  ];

  it.each(reads)('%s', async (_name, make) => {
    const read = make();
    await read();
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      gc();
      runs.push((await measureLoop(read)).maxBlockMs);
    }
    // The best run must stay under the limit; every run is in the message when it does not.
    const ms = runs.map((r) => r.toFixed(1)).join(', ');
    expect(Math.min(...runs), `longest stretch per run: ${ms} ms`).toBeLessThan(LIMIT_MS);
  });
});
