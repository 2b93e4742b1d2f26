import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresSchema, type TestDatabase } from '../support/dialects.ts';
import {
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { type Replica, send, startReplica } from './replicas.ts';

// Approvals across two gateway processes on one PostgreSQL schema (issue 5): a parked request is
// executed at most once however many replicas approve it, and a deadline fires once.
describe('approvals across two replicas', () => {
  let db: TestDatabase;
  let upstream: Upstream;
  let replicas: Replica[] = [];
  let admin: TestGateway;
  let tenant: Tenant;
  const people: Record<string, string> = {};

  beforeAll(async () => {
    db = await freshPostgresSchema();
    upstream = await startUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'succeeded', data: { ok: true } }));
      }, 30);
    });
    const env = { APPROVAL_TIMEOUT_MIN_SECONDS: '1' };
    replicas = await Promise.all([startReplica(db.url, env), startReplica(db.url, env)]);
    admin = await startTestGateway({ databaseUrl: db.url, realClock: true, env });
    tenant = await createTenant(admin);
    await registerHttpBusiness(admin, upstream.url, 'shop');
    for (const name of ['ann', 'bob', 'cat', 'dan']) {
      const res = await call(admin, 'POST', '/v1/members', {
        key: tenant.adminToken,
        body: { email: `${name}@acme.test`, role: 'approver' },
      });
      people[name] = res.body.token as string;
    }
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await admin?.dispose();
    await upstream?.close();
    await db?.drop();
  });

  const r = (i: number) => (replicas[i % 2] as Replica).url;
  const keyFor = async (policy: string, timeoutSeconds: number) => {
    const doc = {
      default_action: 'require_approval',
      routing_stages: [
        {
          stage_index: 0,
          role: 'approver',
          quorum: 1,
          approval_timeout_seconds: timeoutSeconds,
          on_approval_timeout: 'reject',
        },
      ],
    };
    expect(
      (await call(admin, 'PUT', `/v1/policies/${policy}`, { key: tenant.adminToken, body: doc })).status,
    ).toBe(201);
    const key = await call(admin, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      body: { agentId: policy, policy },
    });
    return key.body.key as string;
  };
  const park = async (key: string) => {
    const res = await send(r(0), 'POST', '/agp/execute', {
      key,
      body: { businessId: 'shop', request: { amount_cents: 100, n: Math.random() } },
    });
    expect(res.status).toBe(202);
    return {
      transactionId: res.body.transactionId as string,
      approvalId: (res.body.approval as { id: string }).id,
    };
  };

  it('one parked request approved on both replicas at once → one execution', async () => {
    const key = await keyFor('both-approve', 3600);
    for (let round = 0; round < 4; round += 1) {
      const { transactionId, approvalId } = await park(key);
      const calls = upstream.requests.length;
      const results = await Promise.all(
        ['ann', 'bob', 'cat', 'dan'].map((who, i) =>
          send(r(i), 'POST', `/v1/approvals/${approvalId}/approve`, { key: people[who], body: {} }),
        ),
      );
      expect(results.filter((res) => res.status === 200)).toHaveLength(1);
      expect(results.filter((res) => res.status === 409)).toHaveLength(3);
      expect(upstream.requests.length).toBe(calls + 1);
      const status = await send(r(1), 'GET', `/agp/status/${transactionId}`, { key });
      expect(status.body.status).toBe('succeeded');
    }
  });

  it('a deadline fires once, though both replicas run the deadline job', async () => {
    const key = await keyFor('deadline-once', 1);
    const { transactionId, approvalId } = await park(key);
    let status = '';
    for (let i = 0; i < 40 && status !== 'expired'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await send(r(i), 'GET', `/agp/status/${transactionId}`, { key })).body.status as string;
    }
    expect(status).toBe('expired');
    // Give the other replica's job a few more ticks to (not) fire it again.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const audit = await call(admin, 'GET', '/v1/audit?limit=200', { key: tenant.adminToken });
    const fired = (audit.body.events as { action: string; target: string }[]).filter(
      (e) => e.action === 'approval.expired' && e.target === approvalId,
    );
    expect(fired).toHaveLength(1);
    const late = await send(r(1), 'POST', `/v1/approvals/${approvalId}/approve`, {
      key: people.ann,
      body: {},
    });
    expect(late.status).toBe(409);
  });
});
