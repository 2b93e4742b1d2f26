import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, freshDatabase, type TestDatabase } from '../support/dialects.ts';
import { ADMIN_TOKEN, type RecordedRequest, startUpstream, type Upstream } from '../support/harness.ts';
import { api, kill, type Proc, startProcess } from './process.ts';
import { waitFor } from './support.ts';

// DESIGN §4 "Outcome unknown": a gateway killed between forwarding an execute and recording the
// answer leaves it pending; after ADAPTER_TIMEOUT_MS + ORPHAN_GRACE_SECONDS any replica marks it
// unknown, its reservation still counts, and the agent's repeat with the same key settles it.
describe.each(DIALECTS)('SIGKILL mid-forward (%s)', (dialect) => {
  let upstream: Upstream;
  let db: TestDatabase;
  let proc: Proc | undefined;
  let answer = false;
  const held: ServerResponse[] = [];
  const logs: string[] = [];
  const env = { ADAPTER_TIMEOUT_MS: '1000', ORPHAN_GRACE_SECONDS: '0' };

  beforeAll(async () => {
    upstream = await startUpstream((req: RecordedRequest, res: ServerResponse) => {
      if (!answer) {
        held.push(res); // the business got it and is "working on it" when the gateway dies
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ status: 'succeeded', data: { order: 'o-1', key: req.headers['idempotency-key'] } }),
      );
    });
    db = await freshDatabase(dialect);
  });
  afterAll(async () => {
    if (proc) await kill(proc);
    await upstream.close();
    await db.drop();
  });

  it('the execute becomes unknown, keeps its reservation, and the idempotent repeat settles it', async () => {
    proc = await startProcess(db.url, logs, env);
    let base = proc.url;
    const ws = await api(base, 'POST', '/v1/admin/workspaces', ADMIN_TOKEN, {
      name: 'Orphan',
      adminEmail: 'ops@orphan.test',
    });
    const admin = ws.body.adminToken as string;
    expect(
      (
        await api(base, 'POST', '/v1/admin/businesses', ADMIN_TOKEN, {
          id: 'shop',
          name: 'Shop',
          category: 'retail',
          adapter: { type: 'http', baseUrl: upstream.url },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api(base, 'PUT', '/v1/policies/default', admin, {
          spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }],
        })
      ).status,
    ).toBe(201);
    const key = (await api(base, 'POST', '/v1/keys', admin, { agentId: 'buyer' })).body.key as string;

    const body = JSON.stringify({ businessId: 'shop', request: { amount_cents: 6000, sku: 'sofa' } });
    const headers = {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'idempotency-key': 'k-sofa',
    };
    // The agent's first attempt: its connection dies with the gateway.
    const first = fetch(`${base}/agp/execute`, { method: 'POST', headers, body }).catch(
      (error: Error) => error,
    );
    await waitFor(() => upstream.requests.length === 1, 10_000);
    await kill(proc);
    expect(await first).toBeInstanceOf(Error);

    proc = await startProcess(db.url, logs, env);
    base = proc.url;
    const txn = await waitFor(async () => {
      const list = await api(base, 'GET', '/v1/transactions?status=unknown', admin);
      return (list.body.transactions as { transactionId: string }[])[0];
    }, 15_000);
    const id = txn.transactionId;
    expect(await api(base, 'GET', `/agp/status/${id}`, key)).toMatchObject({
      body: { status: 'unknown', error: { code: 'OUTCOME_UNKNOWN' } },
    });
    // Its 6,000 still count: the business may have executed.
    const summary = await api(base, 'GET', '/v1/transactions/summary', admin);
    expect((summary.body.limits as unknown[])[0]).toMatchObject({ used: 0, reserved: 6000 });
    const over = await fetch(`${base}/agp/execute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ businessId: 'shop', request: { amount_cents: 5000 } }),
    });
    expect(over.status).toBe(403);

    answer = true;
    const repeat = await fetch(`${base}/agp/execute`, { method: 'POST', headers, body });
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toMatchObject({
      transactionId: id,
      status: 'succeeded',
      data: { key: 'k-sofa' },
    });
    // One more business call, carrying the same key (and none for the refused 5,000).
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests.map((r) => r.headers['idempotency-key'])).toEqual(['k-sofa', 'k-sofa']);
    const settled = await api(base, 'GET', '/v1/transactions/summary', admin);
    expect((settled.body.limits as unknown[])[0]).toMatchObject({ used: 6000, reserved: 0 });
    for (const res of held) res.destroy();
  }, 60_000);
});
