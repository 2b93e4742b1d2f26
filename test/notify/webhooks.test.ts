import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import {
  addMember,
  headerRecord,
  park,
  policyKey,
  type Receiver,
  stage,
  stagedPolicy,
  startReceiver,
} from '../e2e/support.ts';
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

const created = z.object({
  id: z.string().startsWith('wh_'),
  url: z.string(),
  events: z.array(z.string()),
  secret: z.string().startsWith('whsec_'),
  createdAt: z.string(),
});
const delivery = z.object({
  id: z.string(),
  eventId: z.string().nullable(),
  event: z.string().nullable(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const deliveries = z.object({ deliveries: z.array(delivery) });

describe('webhooks API and delivery (DESIGN §5)', () => {
  let gw: TestGateway;
  let upstream: Upstream;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway();
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  const receiver = async (statuses: number[]) => {
    const r = await startReceiver(statuses);
    receivers.push(r);
    return r;
  };
  const subscribe = async (tenant: Tenant, url: string, events = ['approval.required']) => {
    const res = await call(gw, 'POST', '/v1/webhooks', { key: tenant.adminToken, body: { url, events } });
    expect(res.status).toBe(201);
    return created.parse(res.body);
  };
  /** A tenant whose every execute waits for one approver. */
  const parkedTenant = async () => {
    const tenant = await createTenant(gw);
    const key = await policyKey(gw, tenant, 'hooks', stagedPolicy([stage(0, 'approver')]));
    return { tenant, key };
  };

  it('creates, lists (never the secret), deletes, audits; admins only', async () => {
    const tenant = await createTenant(gw);
    const approver = await addMember(gw, tenant, 'ann@hooks.test', 'approver');
    const r = await receiver([200]);
    expect(
      (
        await call(gw, 'POST', '/v1/webhooks', {
          key: approver,
          body: { url: r.url, events: ['approval.decided'] },
        })
      ).status,
    ).toBe(403);
    expect(
      (await call(gw, 'POST', '/v1/webhooks', { body: { url: r.url, events: ['approval.decided'] } })).status,
    ).toBe(401);
    const hook = await subscribe(tenant, r.url, ['approval.decided', 'transaction.completed']);
    const listed = await call(gw, 'GET', '/v1/webhooks', { key: approver });
    expect(listed.body).toEqual({
      webhooks: [
        {
          id: hook.id,
          url: r.url,
          events: ['approval.decided', 'transaction.completed'],
          createdAt: hook.createdAt,
        },
      ],
    });
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');

    const other = await createTenant(gw);
    expect((await call(gw, 'DELETE', `/v1/webhooks/${hook.id}`, { key: other.adminToken })).status).toBe(404);
    expect(
      (await call(gw, 'GET', `/v1/webhooks/${hook.id}/deliveries`, { key: other.adminToken })).status,
    ).toBe(404);
    expect((await call(gw, 'DELETE', `/v1/webhooks/${hook.id}`, { key: approver })).status).toBe(403);
    expect((await call(gw, 'DELETE', `/v1/webhooks/${hook.id}`, { key: tenant.adminToken })).status).toBe(
      204,
    );
    expect((await call(gw, 'DELETE', `/v1/webhooks/${hook.id}`, { key: tenant.adminToken })).status).toBe(
      404,
    );
    expect((await call(gw, 'GET', '/v1/webhooks', { key: tenant.adminToken })).body).toEqual({
      webhooks: [],
    });

    const audit = await call(gw, 'GET', '/v1/audit', { key: tenant.adminToken });
    const actions = (audit.body.events as { action: string; target: string }[])
      .filter((e) => e.target === hook.id)
      .map((e) => e.action);
    expect(actions.sort()).toEqual(['webhook.created', 'webhook.deleted']);
  });

  it('refuses unknown events and URLs that are not http(s), with a clear message', async () => {
    const tenant = await createTenant(gw);
    const bad = async (body: unknown) => call(gw, 'POST', '/v1/webhooks', { key: tenant.adminToken, body });
    expect((await bad({ url: 'https://hooks.example/x', events: ['payment.made'] })).status).toBe(400);
    expect((await bad({ url: 'https://hooks.example/x', events: [] })).status).toBe(400);
    const ftp = await bad({ url: 'ftp://hooks.example/x', events: ['approval.decided'] });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error).toBe('The webhook URL is not allowed: URL scheme must be http or https.');
  });

  it('refuses private and metadata addresses when private egress is off (DESIGN §7)', async () => {
    const strict = await startTestGateway({ env: { EGRESS_ALLOW_PRIVATE: 'false' } });
    try {
      const tenant = await createTenant(strict);
      for (const url of [
        'http://127.0.0.1:9/x',
        'http://169.254.169.254/latest',
        'http://localhost/x',
        'http://[::1]/x',
      ]) {
        const res = await call(strict, 'POST', '/v1/webhooks', {
          key: tenant.adminToken,
          body: { url, events: ['approval.decided'] },
        });
        expect(res.status, url).toBe(400);
        expect(String(res.body.error)).toMatch(
          /^The webhook URL is not allowed: URL (points at a private|host)/,
        );
      }
    } finally {
      await strict.dispose();
    }
  });

  it('a receiver answering 500 twice then 200 gets the event three times, each signed', async () => {
    const { tenant, key } = await parkedTenant();
    const r = await receiver([500, 500, 200]);
    const hook = await subscribe(tenant, r.url, ['approval.required']);
    const { approvalId } = await park(gw, key, { amount_cents: 100 });
    const options = { baseDelayMs: 1000 };

    await deliverDue(gw.deps, gw.notify.senders, options);
    expect(r.received).toHaveLength(1);
    // Not due again before its backoff: 1 s, then 2 s.
    await deliverDue(gw.deps, gw.notify.senders, options);
    expect(r.received).toHaveLength(1);
    gw.now.advance(1000);
    await deliverDue(gw.deps, gw.notify.senders, options);
    expect(r.received).toHaveLength(2);
    gw.now.advance(1999);
    await deliverDue(gw.deps, gw.notify.senders, options);
    expect(r.received).toHaveLength(2);
    gw.now.advance(1);
    await deliverDue(gw.deps, gw.notify.senders, options);
    expect(r.received).toHaveLength(3);

    const verifier = new Webhook(hook.secret);
    const ids = new Set<string>();
    for (const got of r.received) {
      const event = verifier.verify(got.body, headerRecord(got.headers)) as Record<string, unknown>;
      expect(event).toMatchObject({
        type: 'approval.required',
        data: { approvalId, stage: { position: 0 } },
      });
      ids.add(String(got.headers['webhook-id']));
    }
    expect([...ids]).toHaveLength(1);
    expect([...ids][0]).toMatch(/^evt_/);
    // Tampered bodies do not verify.
    const first = r.received[0];
    expect(() => verifier.verify(`${first?.body} `, headerRecord(first?.headers ?? {}))).toThrow();

    const listed = deliveries.parse(
      (await call(gw, 'GET', `/v1/webhooks/${hook.id}/deliveries`, { key: tenant.adminToken })).body,
    );
    expect(listed.deliveries).toHaveLength(1);
    expect(listed.deliveries[0]).toMatchObject({
      event: 'approval.required',
      status: 'delivered',
      attempts: 3,
      lastError: null,
      nextAttemptAt: null,
    });
  });

  it('a receiver that never succeeds ends as a failed delivery, visible in the API', async () => {
    const { tenant, key } = await parkedTenant();
    const r = await receiver([503]);
    const hook = await subscribe(tenant, r.url, ['approval.required']);
    await park(gw, key, { amount_cents: 100 });
    const options = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 };
    for (let round = 0; round < 5; round += 1) {
      await deliverDue(gw.deps, gw.notify.senders, options);
      gw.now.advance(20);
    }
    expect(r.received).toHaveLength(3);
    const listed = deliveries.parse(
      (await call(gw, 'GET', `/v1/webhooks/${hook.id}/deliveries`, { key: tenant.adminToken })).body,
    );
    expect(listed.deliveries[0]).toMatchObject({
      status: 'failed',
      attempts: 3,
      lastError: 'HTTP 503: receiver says no',
      nextAttemptAt: null,
    });
  });

  it('approval.decided and transaction.completed follow a decision', async () => {
    const { tenant, key } = await parkedTenant();
    const approver = await addMember(gw, tenant, 'bob@hooks.test', 'approver');
    const r = await receiver([200]);
    const hook = await subscribe(tenant, r.url, ['approval.decided', 'transaction.completed']);
    const { approvalId, transactionId } = await park(gw, key, { amount_cents: 100 });
    await call(gw, 'POST', `/v1/approvals/${approvalId}/reject`, { key: approver, body: { reason: 'no' } });
    await deliverDue(gw.deps, gw.notify.senders);
    const events = r.received.map((got) =>
      new Webhook(hook.secret).verify(got.body, headerRecord(got.headers)),
    );
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'approval.decided',
          data: { approvalId, transactionId, status: 'rejected' },
        }),
        expect.objectContaining({
          type: 'transaction.completed',
          data: { transactionId, status: 'rejected' },
        }),
      ]),
    );
  });

  it('deliveries of a deleted webhook fail for good, without being sent', async () => {
    const { tenant, key } = await parkedTenant();
    const r = await receiver([200]);
    const hook = await subscribe(tenant, r.url, ['approval.required']);
    await park(gw, key, { amount_cents: 100 });
    await call(gw, 'DELETE', `/v1/webhooks/${hook.id}`, { key: tenant.adminToken });
    await deliverDue(gw.deps, gw.notify.senders);
    expect(r.received).toHaveLength(0);
    const listed = deliveries.parse(
      (await call(gw, 'GET', `/v1/webhooks/${hook.id}/deliveries`, { key: tenant.adminToken })).body,
    );
    expect(listed.deliveries[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'The webhook was deleted.',
    });
  });
});
