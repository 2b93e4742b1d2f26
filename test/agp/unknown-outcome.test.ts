import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Conn, Db } from '../../gateway/db/types.ts';
import { DIALECTS, openTestDb } from '../support/dialects.ts';
import {
  call,
  createTenant,
  type RecordedRequest,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

/** A port nothing listens on: connections to it are refused before a byte is sent. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type Mode = 'ok' | 'hang' | 'drop';

// DESIGN §4 "Outcome unknown", §7: a business that may have acted leaves the outcome unknown, its
// reservation counting, until a repeat with the same Idempotency-Key or an admin settles it.
/** The status a compact JWS receipt states (its signature is checked in test/receipts). */
function receiptStatus(jws: unknown): string {
  expect(typeof jws).toBe('string');
  const [, payload = ''] = String(jws).split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).status;
}

describe.each(DIALECTS)('unknown outcomes (%s)', (dialect) => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  let mode: Mode = 'ok';
  let refusedUrl = '';

  beforeAll(async () => {
    upstream = await startUpstream((req: RecordedRequest, res: ServerResponse) => {
      if (mode === 'hang') return; // never answers: the gateway's timeout fires
      if (mode === 'drop') {
        res.socket?.destroy(); // the request arrived; the connection is lost before an answer
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'succeeded', data: { key: req.headers['idempotency-key'] ?? null } }));
    });
    refusedUrl = `http://127.0.0.1:${await deadPort()}`;
    gw = await startTestGateway({ dialect, env: { ADAPTER_TIMEOUT_MS: '300' } });
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
    await registerHttpBusiness(gw, refusedUrl, 'closed', 'retail');
  });
  beforeEach(async () => {
    mode = 'ok';
    // Limits count the whole workspace: each case has its own, with a daily limit of 10,000.
    tenant = await createTenant(gw);
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: tenant.adminToken,
      body: { spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }] },
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const execute = (request: Record<string, unknown>, key?: string, businessId = 'shop') =>
    call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId, request },
      headers: key ? { 'Idempotency-Key': key } : {},
    });
  const status = async (id: string) =>
    (await call(gw, 'GET', `/agp/status/${id}`, { key: tenant.agentKey })).body;
  const daily = async () => {
    const res = await call(gw, 'GET', '/v1/transactions/summary', { key: tenant.adminToken });
    return (res.body.limits as { used: number; reserved: number }[])[0];
  };
  const forwardsWith = (key: string) =>
    upstream.requests.filter((r) => r.headers['idempotency-key'] === key).length;

  it('a timeout is 504 and unknown; the reservation counts; the repeat forwards again and settles it', async () => {
    mode = 'hang';
    const first = await execute({ amount_cents: 6000, sku: 'tea' }, 'k-timeout');
    expect(first.status).toBe(504);
    expect(first.body).toMatchObject({ code: 'ADAPTER_TIMEOUT', details: { status: 'unknown' } });
    const id = (first.body.details as { transactionId: string }).transactionId;
    expect(await status(id)).toMatchObject({ status: 'unknown', error: { code: 'ADAPTER_TIMEOUT' } });
    // Not settled: no receipt yet (DESIGN §9: receipts are for settled outcomes).
    expect((await call(gw, 'GET', `/agp/receipts/${id}`, { key: tenant.agentKey })).body.code).toBe(
      'RECEIPT_NOT_FOUND',
    );
    // The business may have executed: its 6,000 still count against the limit.
    expect(await daily()).toMatchObject({ used: 0, reserved: 6000 });
    const over = await execute({ amount_cents: 5000 });
    expect(over.status).toBe(403);
    expect(over.body.code).toBe('POLICY_REJECTED');

    mode = 'ok';
    const repeat = await execute({ amount_cents: 6000, sku: 'tea' }, 'k-timeout');
    expect(repeat.status).toBe(200);
    expect(repeat.headers.get('Idempotent-Replayed')).toBeNull();
    expect(repeat.body).toMatchObject({ transactionId: id, status: 'succeeded', data: { key: 'k-timeout' } });
    // Sent twice, both times with the agent's key, so the business can deduplicate.
    expect(forwardsWith('k-timeout')).toBe(2);
    expect(await status(id)).toMatchObject({ status: 'succeeded' });
    expect(await daily()).toMatchObject({ used: 6000, reserved: 0 });
    // Settled: a third repeat replays the answer without calling the business.
    const third = await execute({ amount_cents: 6000, sku: 'tea' }, 'k-timeout');
    expect(third.status).toBe(200);
    expect(third.headers.get('Idempotent-Replayed')).toBe('true');
    expect(forwardsWith('k-timeout')).toBe(2);
    // Settled by the repeat: its receipt says succeeded, and the replay carries the same one.
    expect(receiptStatus(repeat.body.receipt)).toBe('succeeded');
    expect(third.body.receipt).toBe(repeat.body.receipt);
  });

  it('an approved execute whose forward ended unknown is settled by the agent repeating it', async () => {
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: tenant.adminToken,
      body: {
        spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }],
        rules: [
          {
            id: 'big',
            conditions: [{ field: 'amount_cents', op: 'gte', value: 7000 }],
            action: 'require_approval',
          },
        ],
        routing_stages: [{ stage_index: 0, role: 'admin', approval_timeout_seconds: 3600 }],
      },
    });
    expect(put.status).toBe(201);
    const parked = await execute({ amount_cents: 8000, sku: 'desk' }, 'k-approved');
    expect(parked.status).toBe(202);
    const id = parked.body.transactionId as string;
    const approvalId = (parked.body.approval as { id: string }).id;
    // Approved while the business hangs: the forward times out, its outcome unknown.
    mode = 'hang';
    const approved = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, {
      key: tenant.adminToken,
      body: {},
    });
    expect(approved.status).toBe(200);
    expect(await status(id)).toMatchObject({ status: 'unknown' });
    expect(forwardsWith('k-approved')).toBe(1);

    // The repeat settles it like any unknown outcome (DESIGN §4), not a replay of the first 202.
    mode = 'ok';
    const repeat = await execute({ amount_cents: 8000, sku: 'desk' }, 'k-approved');
    expect(repeat.status).toBe(200);
    expect(repeat.body).toMatchObject({
      transactionId: id,
      status: 'succeeded',
      data: { key: 'k-approved' },
    });
    expect(receiptStatus(repeat.body.receipt)).toBe('succeeded');
    expect(forwardsWith('k-approved')).toBe(2);
    expect(await status(id)).toMatchObject({ status: 'succeeded' });
    expect(await daily()).toMatchObject({ used: 8000, reserved: 0 });
    // Settled: a further repeat forwards nothing more.
    const again = await execute({ amount_cents: 8000, sku: 'desk' }, 'k-approved');
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(forwardsWith('k-approved')).toBe(2);
  });

  it('a connection lost after the request was sent is 502 and unknown, settled by the repeat', async () => {
    mode = 'drop';
    const first = await execute({ amount_cents: 2000 }, 'k-drop');
    expect(first.status).toBe(502);
    expect(first.body).toMatchObject({ code: 'ADAPTER_ERROR', details: { status: 'unknown' } });
    const id = (first.body.details as { transactionId: string }).transactionId;
    expect(await status(id)).toMatchObject({ status: 'unknown' });
    expect(await daily()).toMatchObject({ reserved: 2000 });
    mode = 'ok';
    const repeat = await execute({ amount_cents: 2000 }, 'k-drop');
    expect(repeat).toMatchObject({ status: 200, body: { transactionId: id, status: 'succeeded' } });
    expect(await daily()).toMatchObject({ used: 2000, reserved: 0 });
  });

  it('a repeat that cannot reach the business leaves the outcome unknown, not failed', async () => {
    mode = 'hang';
    const first = await execute({ amount_cents: 1000 }, 'k-twice');
    const id = (first.body.details as { transactionId: string }).transactionId;
    mode = 'drop';
    const repeat = await execute({ amount_cents: 1000 }, 'k-twice');
    expect(repeat.status).toBe(502);
    expect(repeat.body).toMatchObject({ details: { transactionId: id, status: 'unknown' } });
    expect(await status(id)).toMatchObject({ status: 'unknown' });
    expect(await daily()).toMatchObject({ reserved: 1000 });
  });

  it('a connection refused before anything was sent is failed, the reservation voided, the 502 replayed', async () => {
    const first = await execute({ amount_cents: 3000 }, 'k-refused', 'closed');
    expect(first.status).toBe(502);
    expect(first.body).toMatchObject({ code: 'ADAPTER_ERROR' });
    expect((first.body.details as Record<string, unknown>).status).toBeUndefined();
    const id = (first.body.details as { transactionId: string }).transactionId;
    expect(await status(id)).toMatchObject({ status: 'failed' });
    expect(await daily()).toMatchObject({ used: 0, reserved: 0 });
    const repeat = await execute({ amount_cents: 3000 }, 'k-refused', 'closed');
    expect(repeat.status).toBe(502);
    expect(repeat.headers.get('Idempotent-Replayed')).toBe('true');
  });

  it('20 repeats racing to settle one unknown execute: the business is called once more, not 20 times', async () => {
    mode = 'hang';
    const first = await execute({ amount_cents: 500, sku: 'race' }, 'k-race');
    const id = (first.body.details as { transactionId: string }).transactionId;
    mode = 'ok';
    const repeats = await Promise.all(
      Array.from({ length: 20 }, () => execute({ amount_cents: 500, sku: 'race' }, 'k-race')),
    );
    expect(forwardsWith('k-race')).toBe(2);
    for (const r of repeats) {
      expect([200, 409]).toContain(r.status);
      if (r.status === 200) expect(r.body).toMatchObject({ transactionId: id, status: 'succeeded' });
      else expect(r.body.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    }
    expect(repeats.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(await daily()).toMatchObject({ used: 500, reserved: 0 });
  });

  describe('POST /v1/transactions/:id/resolve', () => {
    const unknownExecute = async (amount: number, key: string) => {
      mode = 'hang';
      const res = await execute({ amount_cents: amount }, key);
      mode = 'ok';
      expect(res.status).toBe(504);
      return (res.body.details as { transactionId: string }).transactionId;
    };
    const resolve = (id: string, body: unknown, token = tenant.adminToken) =>
      call(gw, 'POST', `/v1/transactions/${id}/resolve`, { key: token, body });

    it('an admin settles it as succeeded: spend posted, audited, and a later repeat replays it', async () => {
      const id = await unknownExecute(4000, 'k-resolve');
      const res = await resolve(id, { status: 'succeeded', reason: 'The shop confirmed order 991.' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ transactionId: id, status: 'succeeded' });
      // Settled by an admin: signed like any outcome.
      expect(receiptStatus(res.body.receipt)).toBe('succeeded');
      expect(await daily()).toMatchObject({ used: 4000, reserved: 0 });
      const audit = await call(gw, 'GET', '/v1/audit', { key: tenant.adminToken });
      expect(audit.body.events).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            action: 'transaction.resolved',
            target: id,
            actor: expect.objectContaining({ type: 'member' }),
            data: expect.objectContaining({ status: 'succeeded', reason: 'The shop confirmed order 991.' }),
          }),
        ]),
      );
      const calls = forwardsWith('k-resolve');
      const repeat = await execute({ amount_cents: 4000 }, 'k-resolve');
      expect(repeat).toMatchObject({ status: 200, body: { transactionId: id, status: 'succeeded' } });
      expect(repeat.body.receipt).toBe(res.body.receipt);
      expect(forwardsWith('k-resolve')).toBe(calls);
      // Settled once: resolving again is a conflict.
      expect((await resolve(id, { status: 'failed', reason: 'again' })).body.code).toBe('CONFLICT');
    });

    it('as failed: the reservation is voided and the budget is free again', async () => {
      const id = await unknownExecute(9000, 'k-void');
      expect((await execute({ amount_cents: 2000 })).status).toBe(403);
      const res = await resolve(id, { status: 'failed', reason: 'The shop has no such order.' });
      expect(res.body).toMatchObject({ status: 'failed' });
      expect(await daily()).toMatchObject({ used: 0, reserved: 0 });
      expect((await execute({ amount_cents: 2000 })).status).toBe(200);
    });

    it('only an unknown transaction, only an admin, only in its own workspace, only a valid body', async () => {
      const id = await unknownExecute(100, 'k-guard');
      const settled = await execute({ amount_cents: 100 });
      const settledId = settled.body.transactionId as string;
      expect(settled.status).toBe(200);
      expect((await resolve(settledId, { status: 'failed', reason: 'x' })).status).toBe(409);
      const other = await createTenant(gw);
      expect((await resolve(id, { status: 'failed', reason: 'x' }, other.adminToken)).status).toBe(404);
      const approver = await call(gw, 'POST', '/v1/members', {
        key: tenant.adminToken,
        body: { email: `ap-${dialect}@acme.test`, role: 'approver' },
      });
      const refused = await resolve(id, { status: 'failed', reason: 'x' }, approver.body.token as string);
      expect(refused).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
      expect((await resolve(id, { status: 'failed', reason: 'x' }, tenant.agentKey)).status).toBe(401);
      for (const body of [
        { status: 'pending', reason: 'x' },
        { status: 'failed' },
        { status: 'failed', reason: '' },
      ]) {
        expect((await resolve(id, body)).body.code).toBe('VALIDATION_ERROR');
      }
      expect(await status(id)).toMatchObject({ status: 'unknown' });
    });
  });
});

// "If recording the outcome fails after the business answered, retry the write; never answer 500
// while the ledger says the call did not happen" (issue 8).
describe.each(DIALECTS)('recording the outcome (%s)', (dialect) => {
  let gw: TestGateway;
  let upstream: Upstream;
  let fresh: Awaited<ReturnType<typeof openTestDb>>;
  let failures = 0;

  beforeAll(async () => {
    upstream = await startUpstream();
    fresh = await openTestDb(dialect);
    const real = fresh.db;
    // The real database, except that the next `failures` statements recording an outcome (the
    // update of a transaction's status with its spend) fail as a lost connection would.
    const failing = (tx: Conn): Conn => ({
      dialect: tx.dialect,
      all: (statement, params) => tx.all(statement, params),
      run: (statement, params) => tx.run(statement, params),
      get: (statement, params) => {
        if (failures > 0 && statement.text.includes('spend_state = CASE')) {
          failures -= 1;
          return Promise.reject(new Error('connection to the database lost'));
        }
        return tx.get(statement, params);
      },
    });
    const db: Db = {
      ...real,
      reader: real.reader,
      close: () => real.close(),
      ping: () => real.ping(),
      transaction: (scope, fn) => real.transaction(scope, (tx) => fn(failing(tx))),
    };
    gw = await startTestGateway({ db, databaseUrl: fresh.url });
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
  });
  afterAll(async () => {
    await gw.dispose();
    await fresh.dispose();
    await upstream.close();
  });

  it('a failing write after the business answered is retried; the agent gets the business answer', async () => {
    const tenant = await createTenant(gw);
    failures = 2;
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'shop', request: { amount_cents: 700 } },
      headers: { 'Idempotency-Key': 'k-write' },
    });
    expect(failures).toBe(0);
    expect(res).toMatchObject({ status: 200, body: { status: 'succeeded', data: { ok: true } } });
    const id = res.body.transactionId as string;
    const status = await call(gw, 'GET', `/agp/status/${id}`, { key: tenant.agentKey });
    expect(status.body).toMatchObject({ status: 'succeeded', data: { ok: true } });
    expect(upstream.requests).toHaveLength(1);
    const replay = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'shop', request: { amount_cents: 700 } },
      headers: { 'Idempotency-Key': 'k-write' },
    });
    expect(replay).toMatchObject({ status: 200, body: { transactionId: id } });
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
  });
});
