import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startUpstream, tempDatabaseUrl, type Upstream } from '../support/harness.ts';
import { api, kill, type Proc, startProcess } from './process.ts';
import { stage, stagedPolicy, waitFor } from './support.ts';

describe('restart: a real gateway process, SIGKILLed while a request is parked', () => {
  let upstream: Upstream;
  let db: { url: string; cleanup: () => void };
  let proc: Proc | undefined;
  const logs: string[] = [];

  beforeAll(async () => {
    upstream = await startUpstream();
    db = tempDatabaseUrl();
  });
  afterAll(async () => {
    if (proc) await kill(proc);
    await upstream.close();
    db.cleanup();
  });

  it('after a restart, an approval executes the stored request once; a deadline missed while down fires', async () => {
    proc = await startProcess(db.url, logs);
    const ws = await api(proc.url, 'POST', '/v1/admin/workspaces', ADMIN_TOKEN, {
      name: 'Restart',
      adminEmail: 'ops@restart.test',
    });
    expect(ws.status).toBe(201);
    const admin = ws.body.adminToken as string;
    const biz = await api(proc.url, 'POST', '/v1/admin/businesses', ADMIN_TOKEN, {
      id: 'shop',
      name: 'Shop',
      category: 'retail',
      adapter: { type: 'http', baseUrl: upstream.url },
    });
    expect(biz.status).toBe(201);
    const approver = (
      await api(proc.url, 'POST', '/v1/members', admin, { email: 'ann@restart.test', role: 'approver' })
    ).body.token as string;
    const keyFor = async (name: string, document: unknown) => {
      expect((await api(proc?.url ?? '', 'PUT', `/v1/policies/${name}`, admin, document)).status).toBe(201);
      return (
        await api(proc?.url ?? '', 'POST', '/v1/keys', admin, { agentId: `agent-${name}`, policy: name })
      ).body.key as string;
    };
    const slow = await keyFor('slow', stagedPolicy([stage(0, 'approver')]));
    const quick = await keyFor(
      'quick',
      stagedPolicy([stage(0, 'approver', { approval_timeout_seconds: 2 })]),
    );

    const parked = await api(proc.url, 'POST', '/agp/execute', slow, {
      businessId: 'shop',
      request: { amount_cents: 300, sku: 'SURVIVOR' },
    });
    expect(parked.status).toBe(202);
    const timed = await api(proc.url, 'POST', '/agp/execute', quick, {
      businessId: 'shop',
      request: { amount_cents: 200, sku: 'TOO-LATE' },
    });
    expect(timed.status).toBe(202);

    await kill(proc);
    // The 2 s deadline passes while nothing runs.
    await sleep(2500);
    proc = await startProcess(db.url, logs);
    const base = proc.url;

    // The deadline job reads the database at start: the missed deadline fires by itself.
    const expired = await waitFor(async () => {
      const res = await api(base, 'GET', `/agp/status/${timed.body.transactionId}`, quick);
      return res.body.status === 'expired' ? res.body : undefined;
    }, 10_000);
    expect(expired).toMatchObject({ status: 'expired', approval: { status: 'expired' } });

    // The outbox survived too: without SMTP_URL, ann's email with her personal link is logged.
    await waitFor(
      () =>
        logs.some(
          (l) => l.includes('ann@restart.test') && l.includes('https://warden.restart.test/approve/wal_'),
        ),
      10_000,
    );
    const approvalId = (parked.body.approval as { id: string }).id;
    expect(await api(base, 'GET', `/agp/status/${parked.body.transactionId}`, slow)).toMatchObject({
      body: { status: 'pending_approval' },
    });
    const approved = await api(base, 'POST', `/v1/approvals/${approvalId}/approve`, approver, {});
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', transaction: { status: 'succeeded' } });
    expect((await api(base, 'POST', `/v1/approvals/${approvalId}/approve`, approver, {})).status).toBe(409);
    expect(await api(base, 'GET', `/agp/status/${parked.body.transactionId}`, slow)).toMatchObject({
      body: { status: 'succeeded' },
    });
    // The business saw the approved request exactly once, and never the expired one.
    const bodies = upstream.requests.map((r) => r.body);
    expect(bodies.filter((b) => b.includes('SURVIVOR'))).toHaveLength(1);
    expect(bodies.filter((b) => b.includes('TOO-LATE'))).toHaveLength(0);
  }, 60_000);
});
