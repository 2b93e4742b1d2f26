import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fireDueDeadlines } from '../../gateway/services/approvals/index.ts';
import { DIALECTS } from '../support/dialects.ts';
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

const stage = (index: number, role: string, extra: Record<string, unknown> = {}) => ({
  stage_index: index,
  role,
  tier: 'standard',
  quorum: 1,
  approval_timeout_seconds: 3600,
  on_approval_timeout: 'reject',
  ...extra,
});

describe.each(DIALECTS)('approval stages (DESIGN §6) on %s', (dialect) => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  const people: Record<string, string> = {};

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw);
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
    for (const [name, role] of [
      ['ann', 'approver'],
      ['bob', 'approver'],
      ['cat', 'approver'],
      ['dan', 'admin'],
      ['dev', 'developer'],
    ] as const) {
      const res = await call(gw, 'POST', '/v1/members', {
        key: tenant.adminToken,
        body: { email: `${name}@acme.test`, role },
      });
      people[name] = res.body.token as string;
    }
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const policyKey = async (name: string, document: unknown) => {
    expect(
      (await call(gw, 'PUT', `/v1/policies/${name}`, { key: tenant.adminToken, body: document })).status,
    ).toBe(201);
    const res = await call(gw, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      body: { agentId: `agent-${name}`, policy: name },
    });
    return res.body.key as string;
  };
  const park = async (key: string, amount = 500) => {
    const res = await call(gw, 'POST', '/agp/execute', {
      key,
      body: { businessId: 'shop', request: { amount_cents: amount, n: Math.random() } },
    });
    expect(res.status).toBe(202);
    return {
      transactionId: res.body.transactionId as string,
      approvalId: (res.body.approval as { id: string }).id,
    };
  };
  const act = (who: string, approvalId: string, decision: 'approve' | 'reject', body: unknown = {}) =>
    call(gw, 'POST', `/v1/approvals/${approvalId}/${decision}`, { key: people[who] ?? who, body });
  const status = async (key: string, id: string) =>
    (await call(gw, 'GET', `/agp/status/${id}`, { key })).body;

  it('one stage, quorum 2: two distinct approvers, then the business is called once', async () => {
    const key = await policyKey('quorum', {
      default_action: 'require_approval',
      routing_stages: [stage(0, 'approver', { quorum: 2 })],
    });
    const { transactionId, approvalId } = await park(key);
    const calls = upstream.requests.length;
    const first = await act('ann', approvalId, 'approve');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'pending', stages: [{ status: 'pending', approvals: 1 }] });
    expect(upstream.requests.length).toBe(calls);
    expect((await act('ann', approvalId, 'approve')).body.code).toBe('CONFLICT');
    const second = await act('bob', approvalId, 'approve');
    expect(second.body).toMatchObject({ status: 'approved', transaction: { status: 'succeeded' } });
    expect(upstream.requests.length).toBe(calls + 1);
    expect(await status(key, transactionId)).toMatchObject({
      status: 'succeeded',
      approval: { status: 'approved' },
    });
  });

  it('only the active stage role decides; nobody approves two stages; one rejection rejects', async () => {
    const key = await policyKey('two-stage', {
      default_action: 'reject',
      rules: [
        {
          id: 'all',
          priority: 1,
          conditions: [{ context: 'amount', op: 'gte', value: 0 }],
          action: 'multi_stage',
          routing_stage_indexes: [0, 1],
        },
      ],
      routing_stages: [stage(0, 'approver'), stage(1, 'approver')],
    });
    const { transactionId, approvalId } = await park(key);
    expect((await act('dan', approvalId, 'approve')).status).toBe(403);
    expect((await act('dev', approvalId, 'approve')).status).toBe(403);
    const advanced = await act('ann', approvalId, 'approve');
    expect(advanced.body).toMatchObject({ stages: [{ status: 'approved' }, { status: 'pending' }] });
    // ann approved stage 0 and may not approve stage 1 too.
    expect((await act('ann', approvalId, 'approve')).status).toBe(409);
    const calls = upstream.requests.length;
    const rejected = await act('bob', approvalId, 'reject', { reason: 'not today' });
    expect(rejected.body).toMatchObject({
      status: 'rejected',
      stages: [{ status: 'approved' }, { status: 'rejected' }],
    });
    expect(upstream.requests.length).toBe(calls);
    expect(await status(key, transactionId)).toMatchObject({ status: 'rejected' });
    expect((await act('cat', approvalId, 'approve')).status).toBe(409);
  });

  it('approve and reject take no body at all (the body is optional, as documented)', async () => {
    const key = await policyKey('bodiless', {
      default_action: 'require_approval',
      routing_stages: [stage(0, 'approver')],
    });
    const bare = (who: string, approvalId: string, decision: 'approve' | 'reject') =>
      call(gw, 'POST', `/v1/approvals/${approvalId}/${decision}`, { key: people[who] });
    const approved = await park(key);
    expect((await bare('ann', approved.approvalId, 'approve')).body).toMatchObject({ status: 'approved' });
    const rejected = await park(key);
    expect((await bare('bob', rejected.approvalId, 'reject')).body).toMatchObject({ status: 'rejected' });
    // A body that is there must still be JSON.
    const garbled = await park(key);
    const res = await call(gw, 'POST', `/v1/approvals/${garbled.approvalId}/approve`, {
      key: people.cat,
      rawBody: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(res).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
  });

  it('lists what my role can act on, and shows the request being authorised', async () => {
    const key = await policyKey('listing', {
      default_action: 'require_approval',
      routing_stages: [stage(0, 'admin')],
    });
    const { approvalId } = await park(key, 777);
    const forApprover = await call(gw, 'GET', '/v1/approvals?status=pending', { key: people.ann });
    expect((forApprover.body.approvals as { id: string }[]).map((a) => a.id)).not.toContain(approvalId);
    const forAdmin = await call(gw, 'GET', '/v1/approvals?status=pending', { key: people.dan });
    expect((forAdmin.body.approvals as { id: string }[]).map((a) => a.id)).toContain(approvalId);
    const detail = await call(gw, 'GET', `/v1/approvals/${approvalId}`, { key: people.dan });
    expect(detail.body).toMatchObject({
      transaction: { amount: 777, businessId: 'shop', request: { amount_cents: 777 } },
    });
  });

  it('a deadline rejects, or escalates to the next stage', async () => {
    const key = await policyKey('deadlines', {
      default_action: 'reject',
      rules: [
        {
          id: 'all',
          priority: 1,
          conditions: [{ context: 'amount', op: 'gte', value: 0 }],
          action: 'multi_stage',
          routing_stage_indexes: [0, 1],
        },
      ],
      routing_stages: [
        stage(0, 'approver', { approval_timeout_seconds: 60, on_approval_timeout: 'escalate_next' }),
        stage(1, 'admin', { approval_timeout_seconds: 120, on_approval_timeout: 'reject' }),
      ],
    });
    const { transactionId, approvalId } = await park(key);
    expect(await fireDueDeadlines(gw.deps)).toBe(0);
    gw.now.advance(61_000);
    try {
      expect(await fireDueDeadlines(gw.deps)).toBe(1);
      const escalated = await call(gw, 'GET', `/v1/approvals/${approvalId}`, { key: people.dan });
      expect(escalated.body).toMatchObject({
        status: 'pending',
        stages: [{ status: 'escalated' }, { status: 'pending' }],
      });
      gw.now.advance(121_000);
      expect(await fireDueDeadlines(gw.deps)).toBe(1);
      expect(await status(key, transactionId)).toMatchObject({ status: 'expired' });
      expect((await act('dan', approvalId, 'approve')).status).toBe(409);
    } finally {
      gw.now.advance(-182_000);
    }
  });

  it('race: two approvers at once on a quorum-1 stage → one execution', async () => {
    const key = await policyKey('race-quorum', {
      default_action: 'require_approval',
      routing_stages: [stage(0, 'approver')],
    });
    for (let round = 0; round < 5; round += 1) {
      const { transactionId, approvalId } = await park(key);
      const calls = upstream.requests.length;
      const results = await Promise.all([
        act('ann', approvalId, 'approve'),
        act('bob', approvalId, 'approve'),
        act('cat', approvalId, 'approve'),
      ]);
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409)).toHaveLength(2);
      expect(upstream.requests.length).toBe(calls + 1);
      expect(await status(key, transactionId)).toMatchObject({ status: 'succeeded' });
    }
  });

  it('race: an approval against its deadline → exactly one outcome', async () => {
    const key = await policyKey('race-deadline', {
      default_action: 'require_approval',
      routing_stages: [stage(0, 'approver', { approval_timeout_seconds: 60 })],
    });
    const outcomes = new Set<string>();
    for (let round = 0; round < 6; round += 1) {
      const { transactionId, approvalId } = await park(key);
      gw.now.advance(60_000);
      try {
        const calls = upstream.requests.length;
        const [vote, fired] = await Promise.all([
          act('ann', approvalId, 'approve'),
          fireDueDeadlines(gw.deps),
        ]);
        const final = (await status(key, transactionId)).status as string;
        outcomes.add(final);
        if (final === 'succeeded') {
          expect(vote.status).toBe(200);
          expect(upstream.requests.length).toBe(calls + 1);
        } else {
          expect(final).toBe('expired');
          expect(vote.status).toBe(409);
          expect(fired).toBe(1);
          expect(upstream.requests.length).toBe(calls);
        }
      } finally {
        gw.now.advance(-60_000);
      }
    }
    // At the deadline itself the deadline wins: the stage is no longer active.
    expect(outcomes).toEqual(new Set(['expired']));
  });

  it('parked amounts are released when rejected', async () => {
    // Limits count every execute of the workspace (DESIGN §6): this case needs one of its own.
    const own = await createTenant(gw, { name: 'Reserve' });
    const approver = await call(gw, 'POST', '/v1/members', {
      key: own.adminToken,
      body: { email: 'ann@reserve.test', role: 'approver' },
    });
    const put = await call(gw, 'PUT', '/v1/policies/reserve', {
      key: own.adminToken,
      body: {
        spending_limits: [{ id: 'daily', amount: 1000, interval: 'day' }],
        default_action: 'require_approval',
        routing_stages: [stage(0, 'approver')],
      },
    });
    expect(put.status).toBe(201);
    const key = (
      await call(gw, 'POST', '/v1/keys', {
        key: own.adminToken,
        body: { agentId: 'reserve', policy: 'reserve' },
      })
    ).body.key as string;
    const { approvalId } = await park(key, 1000);
    const full = await call(gw, 'POST', '/agp/execute', {
      key,
      body: { businessId: 'shop', request: { amount_cents: 1 } },
    });
    expect(full.status).toBe(403);
    await act(approver.body.token as string, approvalId, 'reject');
    const summary = await call(gw, 'GET', '/v1/transactions/summary?policy=reserve', {
      key: own.adminToken,
    });
    expect(summary.body.limits).toEqual([expect.objectContaining({ used: 0, reserved: 0, remaining: 1000 })]);
  });
});
