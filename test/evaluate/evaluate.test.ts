import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import { headerRecord, type Receiver, startReceiver } from '../e2e/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import { call, createTenant, startTestGateway, type Tenant, type TestGateway } from '../support/harness.ts';

const jcsHash = (value: unknown) =>
  createHash('sha256')
    .update(canonicalize(value) as string)
    .digest('hex');

const POLICY = {
  default_action: 'auto_approve',
  spending_limits: [{ id: 'daily', amount: 20_000, interval: 'day', window: 'rolling' }],
  rules: [
    {
      id: 'no-weapons',
      priority: 1,
      conditions: [{ field: 'category', op: 'eq', value: 'weapons' }],
      action: 'reject',
      reason: 'Weapons are not allowed',
    },
    {
      id: 'big-needs-a-person',
      priority: 2,
      conditions: [{ context: 'amount', op: 'gte', value: 10_000 }],
      action: 'require_approval',
      stage_index: 0,
    },
  ],
  routing_stages: [
    {
      stage_index: 0,
      role: 'approver',
      tier: 'standard',
      quorum: 1,
      approval_timeout_seconds: 3600,
      on_approval_timeout: 'reject',
    },
  ],
};

// DESIGN §5 evaluate-only; seed 000 §2.1 (POST /api/v1/evaluate and /receipt).
describe.each(DIALECTS)('evaluate-only on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let approver: string;
  let receiver: Receiver;
  let callbackSecret: string;
  let agentKey: string;

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw);
    receiver = await startReceiver([200]);
    const put = await call(gw, 'PUT', '/v1/policies/payments', { key: tenant.adminToken, body: POLICY });
    expect(put.status).toBe(201);
    const key = await call(gw, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      body: { agentId: 'payments-bot', policy: 'payments' },
    });
    agentKey = key.body.key as string;
    const member = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: `ann-${dialect}@acme.test`, role: 'approver' },
    });
    approver = member.body.token as string;
    const secret = await call(gw, 'POST', '/v1/webhooks/callback-secret', { key: tenant.adminToken });
    expect(secret.status).toBe(201);
    callbackSecret = secret.body.secret as string;
  });
  afterAll(async () => {
    await gw.dispose();
    await receiver.close();
  });

  const evaluate = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}, headers = {}) =>
    call(gw, 'POST', '/v1/evaluate', {
      key: agentKey,
      body: {
        policy_name: 'payments',
        context: { agent_id: 'payments-bot', payload_scope: payload },
        ...extra,
      },
      headers,
    });
  const receipt = (evaluation_id: string, status: 'succeeded' | 'failed', data?: unknown) =>
    call(gw, 'POST', '/v1/receipt', { key: agentKey, body: { evaluation_id, status, data } });
  const verify = async (jws: string) => {
    const keys = (await call(gw, 'GET', '/.well-known/warden-keys')).body as unknown as JSONWebKeySet;
    const { payload } = await compactVerify(jws, createLocalJWKSet(keys));
    return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  };
  /** Delivers the outbox and answers the callbacks received for one evaluation, checked signatures. */
  const callbacksFor = async (evaluationId: string) => {
    await deliverDue(gw.deps, gw.notify.senders);
    const hook = new Webhook(callbackSecret);
    return (
      receiver.received
        .map(
          (r) =>
            hook.verify(r.body, headerRecord(r.headers)) as {
              type: string;
              timestamp: string;
              data: Record<string, unknown>;
            },
        )
        .filter((e) => e.data.evaluation_id === evaluationId)
        // One outbox round delivers its items at once, so they may arrive in any order: a receiver
        // orders them by the event's own timestamp (Standard Webhooks payloads carry one).
        .sort((a, b) => a.timestamp.localeCompare(b.timestamp))
    );
  };

  it('auto-approved: the caller executes, reports, and gets a signed receipt of the evaluation', async () => {
    const payload = { amount_cents: 1500, currency: 'USD', vendor: 'acme-paper' };
    const res = await evaluate(payload);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'auto_approved',
      decision: { outcome: 'auto_approve', policy: { name: 'payments', version: 1 } },
    });
    const id = res.body.evaluation_id as string;
    expect(id).toMatch(/^evl_/);
    const reported = await receipt(id, 'succeeded', { transfer: 'tr_123' });
    expect(reported.status).toBe(201);
    expect(reported.body.evaluation_id).toBe(id);
    const signed = await verify(reported.body.receipt as string);
    // Version 2 (DESIGN §9): it names no other receipt.
    expect(signed).not.toHaveProperty('prev');
    expect(signed).toMatchObject({
      v: 2,
      transactionId: id,
      workspaceId: tenant.workspaceId,
      agentId: 'payments-bot',
      businessId: null,
      operation: 'evaluate',
      status: 'succeeded',
      amount: 1500,
      currency: 'USD',
      requestHash: jcsHash(payload),
      responseHash: jcsHash({ transfer: 'tr_123' }),
      approvers: [],
    });
    // The ledger shows it, with its receipt.
    const listed = await call(gw, 'GET', '/v1/transactions?operation=evaluate', { key: tenant.adminToken });
    expect(
      (listed.body.transactions as { transactionId: string; status: string }[]).find(
        (t) => t.transactionId === id,
      ),
    ).toMatchObject({ status: 'succeeded' });
    const detail = await call(gw, 'GET', `/v1/transactions/${id}`, { key: tenant.adminToken });
    expect(detail.body.receipt).toBe(reported.body.receipt);
    // A second receipt for the same evaluation is refused.
    const again = await receipt(id, 'succeeded');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONFLICT');
  });

  it('rejected: the decision names the rule, and no receipt is accepted', async () => {
    const res = await evaluate({ amount_cents: 100, category: 'weapons' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('rejected');
    expect(res.body.decision).toMatchObject({
      outcome: 'reject',
      ruleId: 'no-weapons',
      reason: 'Weapons are not allowed',
    });
    expect((res.body.decision as { checks: unknown[] }).checks.length).toBeGreaterThan(0);
    const refused = await receipt(res.body.evaluation_id as string, 'succeeded');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'CONFLICT', details: { status: 'rejected' } });
  });

  it('pending_human → approved by a person → terminal_outcome at webhook_url, signed → receipt', async () => {
    const res = await evaluate(
      { amount_cents: 12_000, vendor: 'big-supplier' },
      { webhook_url: `${receiver.url}/warden` },
    );
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending_human');
    const id = res.body.evaluation_id as string;
    const approval = res.body.approval as { id: string; stages: unknown[] };
    expect(approval.stages).toHaveLength(1);
    // Still pending: no receipt yet.
    expect((await receipt(id, 'succeeded')).body).toMatchObject({
      code: 'CONFLICT',
      details: { status: 'pending_human' },
    });
    const required = await callbacksFor(id);
    expect(required.map((e) => e.type)).toEqual(['approval_required']);
    expect(required[0]?.data).toMatchObject({ status: 'pending_human', approval: { id: approval.id } });

    const vote = await call(gw, 'POST', `/v1/approvals/${approval.id}/approve`, { key: approver, body: {} });
    expect(vote.status).toBe(200);
    const status = await call(gw, 'GET', `/agp/status/${id}`, { key: agentKey });
    expect(status.body.status).toBe('approved');
    const events = await callbacksFor(id);
    expect(events.map((e) => e.type)).toEqual(['approval_required', 'terminal_outcome']);
    expect(events[1]?.data).toMatchObject({ evaluation_id: id, status: 'approved' });
    // A forged delivery (wrong secret) does not verify.
    const last = receiver.received.at(-1);
    expect(() =>
      new Webhook(`whsec_${Buffer.from('not-the-secret-0123456789ab').toString('base64')}`).verify(
        last?.body ?? '',
        headerRecord(last?.headers ?? {}),
      ),
    ).toThrow();

    const reported = await receipt(id, 'failed', { error: 'bank declined' });
    expect(reported.status).toBe(201);
    const signed = await verify(reported.body.receipt as string);
    expect(signed).toMatchObject({
      operation: 'evaluate',
      status: 'failed',
      decision: { outcome: 'approval', ruleId: 'big-needs-a-person' },
    });
    expect((signed.approvers as string[]).length).toBe(1);
  });

  it('a rejection by a person is the terminal outcome too', async () => {
    const res = await evaluate({ amount_cents: 11_000 }, { webhook_url: `${receiver.url}/warden` });
    const id = res.body.evaluation_id as string;
    const approval = res.body.approval as { id: string };
    gw.now.advance(1_000); // the person decides a second later: the events' timestamps say so
    await call(gw, 'POST', `/v1/approvals/${approval.id}/reject`, { key: approver, body: { reason: 'no' } });
    const events = await callbacksFor(id);
    expect(events.map((e) => [e.type, e.data.status])).toEqual([
      ['approval_required', 'pending_human'],
      ['terminal_outcome', 'rejected'],
    ]);
    expect((await receipt(id, 'succeeded')).status).toBe(409);
  });

  it('spend: an approved evaluation reserves its amount, a failed receipt gives it back', async () => {
    // A fresh agent on the same policy; the daily limit (20,000) is shared by the workspace.
    const spent = await call(gw, 'GET', '/v1/transactions/summary?policy=payments', {
      key: tenant.adminToken,
    });
    const daily = (spent.body.limits as { id: string; used: number; reserved: number }[]).find(
      (l) => l.id === 'daily',
    );
    const room = 20_000 - (daily?.used ?? 0) - (daily?.reserved ?? 0);
    expect(room).toBeGreaterThan(2);
    const first = await evaluate({ amount_cents: Math.min(room, 9_999) });
    expect(first.body.status).toBe('auto_approved');
    const left = room - Math.min(room, 9_999);
    const over = await evaluate({ amount_cents: left + 1 });
    expect(over.body).toMatchObject({ status: 'rejected', decision: { outcome: 'reject' } });
    // The first one failed downstream: its reservation is voided, and the room is back.
    expect((await receipt(first.body.evaluation_id as string, 'failed')).status).toBe(201);
    const fits = await evaluate({ amount_cents: left + 1 });
    expect(fits.body.status).toBe('auto_approved');
    await receipt(fits.body.evaluation_id as string, 'failed');
  });

  it('ten receipts at once for one evaluation: exactly one is accepted', async () => {
    const res = await evaluate({ amount_cents: 10 });
    const id = res.body.evaluation_id as string;
    const answers = await Promise.all(Array.from({ length: 10 }, () => receipt(id, 'succeeded')));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(9);
  });

  it('an Idempotency-Key replays the first answer; another body with it is 422', async () => {
    const first = await evaluate({ amount_cents: 20 }, {}, { 'Idempotency-Key': `ev-${dialect}` });
    const again = await evaluate({ amount_cents: 20 }, {}, { 'Idempotency-Key': `ev-${dialect}` });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await evaluate({ amount_cents: 21 }, {}, { 'Idempotency-Key': `ev-${dialect}` });
    expect(other.status).toBe(422);
  });

  it('refuses what it cannot honour: another agent, another policy, a bad webhook_url, an unknown evaluation', async () => {
    const wrongAgent = await call(gw, 'POST', '/v1/evaluate', {
      key: agentKey,
      body: { context: { agent_id: 'someone-else', payload_scope: {} } },
    });
    expect(wrongAgent.status).toBe(403);
    const wrongPolicy = await evaluate({}, { policy_name: 'lenient' });
    expect(wrongPolicy.status).toBe(403);
    const badUrl = await evaluate({ amount_cents: 1 }, { webhook_url: 'file:///etc/passwd' });
    expect(badUrl).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
    const noScope = await call(gw, 'POST', '/v1/evaluate', {
      key: agentKey,
      body: { context: { agent_id: 'payments-bot' } },
    });
    expect(noScope.status).toBe(400);
    const unknown = await receipt('evl_nope', 'succeeded');
    expect(unknown).toMatchObject({ status: 404, body: { code: 'TRANSACTION_NOT_FOUND' } });
    // Another workspace's evaluation does not exist for this key.
    const other = await createTenant(gw, { name: 'Other' });
    const mine = await evaluate({ amount_cents: 1 });
    const stranger = await call(gw, 'POST', '/v1/receipt', {
      key: other.agentKey,
      body: { evaluation_id: mine.body.evaluation_id, status: 'succeeded' },
    });
    expect(stranger.status).toBe(404);
  });

  it('only the agent key that evaluated may report the outcome: another key gets 403 and changes nothing', async () => {
    // A workspace of its own, subscribed to transaction.completed: an accepted report would emit one.
    const shop = await createTenant(gw, { name: 'Reports', agentId: 'bot' });
    const hook = await call(gw, 'POST', '/v1/webhooks', {
      key: shop.adminToken,
      body: { url: 'http://127.0.0.1:9/never-delivered', events: ['transaction.completed'] },
    });
    expect(hook.status).toBe(201);
    const newKey = async (agentId: string) =>
      (await call(gw, 'POST', '/v1/keys', { key: shop.adminToken, body: { agentId } })).body.key as string;
    const sameAgent = await newKey('bot');
    const otherAgent = await newKey('other-bot');
    const evaluated = await call(gw, 'POST', '/v1/evaluate', {
      key: shop.agentKey,
      body: { context: { agent_id: 'bot', payload_scope: { amount_cents: 700 } } },
    });
    expect(evaluated.body.status).toBe('auto_approved');
    const id = evaluated.body.evaluation_id as string;
    const ledger = async () => {
      const detail = await call(gw, 'GET', `/v1/transactions/${id}`, { key: shop.adminToken });
      const [events] = await gw.db.reader.all(
        sql('SELECT count(*) FROM outbox WHERE workspace_id = ?', (r) => Number(r[0])),
        [shop.workspaceId],
      );
      return { status: detail.body.status, spend: detail.body.spend, receipt: detail.body.receipt, events };
    };
    const before = await ledger();
    expect(before).toMatchObject({ status: 'approved', receipt: null, events: 0 });

    for (const key of [otherAgent, sameAgent]) {
      const refused = await call(gw, 'POST', '/v1/receipt', {
        key,
        body: { evaluation_id: id, status: 'failed', data: { forged: true } },
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({
        code: 'FORBIDDEN',
        error: `Evaluation ${id} was requested with another agent key: only that key may report its outcome.`,
      });
    }
    // No receipt, no status or spend change, no event.
    expect(await ledger()).toEqual(before);
    const none = await call(gw, 'GET', `/agp/receipts/${id}`, { key: shop.agentKey });
    expect(none.body.code).toBe('RECEIPT_NOT_FOUND');

    // The key that evaluated still reports it.
    const reported = await call(gw, 'POST', '/v1/receipt', {
      key: shop.agentKey,
      body: { evaluation_id: id, status: 'succeeded' },
    });
    expect(reported.status).toBe(201);
    expect(await verify(reported.body.receipt as string)).toMatchObject({
      transactionId: id,
      status: 'succeeded',
    });
    expect(await ledger()).toMatchObject({ status: 'succeeded', receipt: reported.body.receipt, events: 1 });
  });

  it('a webhook_url needs the workspace callback secret', async () => {
    const fresh = await createTenant(gw, { name: 'No secret', agentId: 'bot' });
    const res = await call(gw, 'POST', '/v1/evaluate', {
      key: fresh.agentKey,
      body: { context: { agent_id: 'bot', payload_scope: {} }, webhook_url: `${receiver.url}/x` },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/callback secret/);
    // Without a policy, an evaluation is allowed (as an execute is) and says so.
    const plain = await call(gw, 'POST', '/v1/evaluate', {
      key: fresh.agentKey,
      body: { context: { agent_id: 'bot', payload_scope: { amount_cents: 5 } } },
    });
    expect(plain.body).toMatchObject({
      status: 'auto_approved',
      decision: { policy: { name: 'default', version: null } },
    });
  });
});
