import {
  ConfirmationError,
  OutcomeUnknownError,
  PolicyRejectedError,
  WardenClient,
  type WardenClientOptions,
  WardenError,
} from '@warden/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  listen,
  registerHttpBusiness,
  sequence,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { startDroppingProxy } from './support.ts';

/**
 * @warden/client against a real gateway on a socket (confirm mode) and a real business stand-in:
 * automatic prepare, one business call through a dropped answer, unknown outcomes settled by
 * repeating with the same key, the approval wait, receipts and their ledger inclusion, typed errors.
 */

type Mode = 'ok' | 'hang' | 'hang-once' | 'held';

describe.each(DIALECTS)('@warden/client (%s)', (dialect) => {
  let gw: TestGateway;
  let gateway: { url: string; close: () => Promise<void> };
  let upstream: Upstream;
  let mode: Mode = 'ok';
  let release = () => {};
  let tenant: Tenant;
  const fast = { attempts: 4, baseMs: 10, maxMs: 50 };
  const client = (options: Partial<WardenClientOptions> = {}) =>
    new WardenClient({ baseUrl: gateway.url, agentKey: tenant.agentKey, retry: fast, ...options });
  const callsWith = (key: string) => upstream.requests.filter((r) => r.headers['idempotency-key'] === key);
  const putPolicy = async (who: Tenant, body: unknown) =>
    expect((await call(gw, 'PUT', '/v1/policies/default', { key: who.adminToken, body })).status).toBe(201);

  beforeAll(async () => {
    upstream = await startUpstream(async (req, res) => {
      if (mode === 'hang') return;
      if (mode === 'hang-once') {
        mode = 'ok';
        return;
      }
      if (mode === 'held') {
        // Answers once the test lets go, and always within the gateway's adapter timeout.
        await new Promise<void>((resolve) => {
          release = resolve;
          setTimeout(resolve, 800);
        });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'succeeded', data: { order: JSON.parse(req.body).request ?? null } }));
    });
    gw = await startTestGateway({
      dialect,
      env: { AGENR_EXECUTE_POLICY: 'confirm', ADAPTER_TIMEOUT_MS: '1000' },
    });
    await registerHttpBusiness(gw, upstream.url, 'shop');
    gateway = await listen(gw);
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await gateway?.close();
    await gw?.dispose();
    await upstream?.close();
  });

  it('in confirm mode, execute prepares by itself when asked to, and is refused with a typed error when not', async () => {
    const body = { businessId: 'shop', request: { sku: 'tea', amount_cents: 1200 } };
    const refused = await client()
      .execute(body)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfirmationError);
    expect(refused).toMatchObject({ status: 403, code: 'CONFIRMATION_REQUIRED' });
    expect((refused as WardenError).requestId).toMatch(/\S/);

    const always = await client({ autoPrepare: 'always' }).execute(body);
    expect(always).toMatchObject({ outcome: 'executed', status: 'succeeded', replayed: false });
    expect(always.outcome === 'executed' && always.receipt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(callsWith(always.idempotencyKey)).toHaveLength(1);

    // On demand: the execute is refused for want of a token, prepared, and sent again with the same key.
    const paths: string[] = [];
    const recording: typeof fetch = (input, init) => {
      paths.push(`${init?.method} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    };
    const onDemand = await client({ autoPrepare: 'when-required', fetch: recording }).execute(body);
    expect(onDemand).toMatchObject({ outcome: 'executed', status: 'succeeded' });
    expect(paths).toEqual(['POST /agp/execute', 'POST /agp/execute/prepare', 'POST /agp/execute']);
    expect(callsWith(onDemand.idempotencyKey)).toHaveLength(1);
  });

  it('an answer lost after the execute ran is repeated with the same key: the business is called once', async () => {
    const proxy = await startDroppingProxy(gateway.url);
    try {
      const viaProxy = new WardenClient({
        baseUrl: proxy.url,
        agentKey: tenant.agentKey,
        autoPrepare: 'always',
        retry: fast,
      });
      const result = await viaProxy.execute({
        businessId: 'shop',
        request: { sku: 'mug', amount_cents: 900 },
      });
      expect(proxy.dropped).toBe(1);
      const executes = proxy.forwarded.filter((f) => f.path === '/agp/execute');
      expect(executes.map((f) => f.idempotencyKey)).toEqual([result.idempotencyKey, result.idempotencyKey]);
      // The second answer is the gateway's replay of the first: same transaction, no second call.
      expect(result).toMatchObject({ outcome: 'executed', status: 'succeeded', replayed: true });
      expect(callsWith(result.idempotencyKey)).toHaveLength(1);
      expect((await viaProxy.status(result.transactionId)).status).toBe('succeeded');
    } finally {
      await proxy.close();
    }
  });

  it('two attempts racing with one key: the later waits out 409 in flight and gets the replay; one business call', async () => {
    const c = client({ autoPrepare: 'always' });
    let conflicts = 0;
    const watching = client({
      // Enough attempts to outlast the first one's held business on a loaded machine.
      retry: { attempts: 15, baseMs: 10, maxMs: 200 },
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (res.status === 409) {
          conflicts++;
          release();
        }
        return res;
      },
    });
    const body = { businessId: 'shop', request: { sku: 'lamp', amount_cents: 600 } };
    const idempotencyKey = `race-${Date.now()}`;
    // The second attempt's own token, so that it is one request while the first is held.
    const { confirmationToken } = await c.prepare(body);
    mode = 'held';
    const first = c.execute(body, { idempotencyKey });
    await expect.poll(() => callsWith(idempotencyKey).length, { timeout: 5000 }).toBe(1);
    const second = await watching.execute(body, { idempotencyKey, confirmationToken });
    const done = await first;
    mode = 'ok';
    expect(conflicts).toBeGreaterThanOrEqual(1);
    expect(done).toMatchObject({ outcome: 'executed', status: 'succeeded', replayed: false });
    expect(second).toMatchObject({ outcome: 'executed', status: 'succeeded', replayed: true });
    expect(second.transactionId).toBe(done.transactionId);
    expect(callsWith(idempotencyKey)).toHaveLength(1);
  });

  it('an unknown outcome is repeated with the same key, which settles it; exhausted, it says which key to repeat', async () => {
    const c = client({ autoPrepare: 'always' });
    mode = 'hang-once';
    const settled = await c.execute({ businessId: 'shop', request: { sku: 'pot', amount_cents: 700 } });
    expect(settled).toMatchObject({ outcome: 'executed', status: 'succeeded', replayed: false });
    // Forwarded twice with the one key, so the business can deduplicate; one transaction.
    expect(callsWith(settled.idempotencyKey)).toHaveLength(2);
    expect((await c.status(settled.transactionId)).status).toBe('succeeded');

    mode = 'hang';
    const body = { businessId: 'shop', request: { sku: 'kettle', amount_cents: 800 } };
    const lost = await client({ autoPrepare: 'always', retry: { ...fast, attempts: 2 } })
      .execute(body)
      .catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(OutcomeUnknownError);
    const { idempotencyKey, transactionId } = lost as OutcomeUnknownError;
    expect(transactionId).toMatch(/^txn_/);
    expect((await c.status(transactionId ?? '')).status).toBe('unknown');
    mode = 'ok';
    const later = await c.execute(body, { idempotencyKey });
    expect(later).toMatchObject({ outcome: 'executed', status: 'succeeded', transactionId });
    expect(callsWith(idempotencyKey)).toHaveLength(3);
  });

  it('waitForDecision follows a parked execute through an approval, and stops when aborted', async () => {
    const approving = await createTenant(gw, { name: 'Approving' });
    await putPolicy(approving, {
      rules: [
        {
          id: 'big',
          conditions: [{ field: 'amount_cents', op: 'gte', value: 5000 }],
          action: 'require_approval',
        },
      ],
      routing_stages: [{ stage_index: 0, role: 'admin', approval_timeout_seconds: 3600 }],
    });
    let polls = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).includes('/agp/status/')) polls++;
      return fetch(input, init);
    };
    const c = new WardenClient({
      baseUrl: gateway.url,
      agentKey: approving.agentKey,
      autoPrepare: 'always',
      retry: fast,
      fetch: counting,
    });
    const parked = await c.execute({ businessId: 'shop', request: { sku: 'desk', amount_cents: 8000 } });
    expect(parked).toMatchObject({ outcome: 'parked', status: 'pending_approval' });
    if (parked.outcome !== 'parked' || parked.status !== 'pending_approval') throw new Error('not parked');
    expect(callsWith(parked.idempotencyKey)).toHaveLength(0);

    const waiting = c.waitForDecision(parked.transactionId, { intervalMs: 10, maxIntervalMs: 40 });
    await expect.poll(() => polls, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    const approved = await call(gw, 'POST', `/v1/approvals/${parked.approval.id}/approve`, {
      key: approving.adminToken,
      body: {},
    });
    expect(approved.status).toBe(200);
    const decided = await waiting;
    expect(decided).toMatchObject({ status: 'succeeded', approval: { status: 'approved' } });
    expect(callsWith(parked.idempotencyKey)).toHaveLength(1);

    // Rejected, through executeAndWait; and a wait that is aborted rejects with the signal's reason.
    const second = c.executeAndWait(
      { businessId: 'shop', request: { sku: 'chair', amount_cents: 6000 } },
      { intervalMs: 10, maxIntervalMs: 40 },
    );
    let approvalId = '';
    await expect
      .poll(
        async () => {
          const list = await call(gw, 'GET', '/v1/approvals', { key: approving.adminToken });
          const items = list.body.approvals as { id: string; status: string }[];
          approvalId = items.find((a) => a.status === 'pending')?.id ?? '';
          return approvalId;
        },
        { timeout: 5000 },
      )
      .toMatch(/^apr_/);
    const rejected = await call(gw, 'POST', `/v1/approvals/${approvalId}/reject`, {
      key: approving.adminToken,
      body: {},
    });
    expect(rejected.status).toBe(200);
    expect(await second).toMatchObject({ outcome: 'decided', status: 'rejected' });

    const third = await c.execute({ businessId: 'shop', request: { sku: 'lamp', amount_cents: 7000 } });
    const controller = new AbortController();
    const aborted = c.waitForDecision(third.transactionId, {
      signal: controller.signal,
      intervalMs: 10,
      maxIntervalMs: 40,
    });
    const reason = new Error('the agent gave up');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect((await c.status(third.transactionId)).status).toBe('pending_approval');
  });

  it('verifyReceipt checks the signature, the request, and the inclusion once the sequencer ran', async () => {
    const c = client({ autoPrepare: 'always' });
    const request = { sku: 'book', amount_cents: 2500 };
    const done = await c.execute({ businessId: 'shop', request });
    if (done.outcome !== 'executed' || !done.receipt) throw new Error('no receipt');
    const another = await c.execute({ businessId: 'shop', request: { sku: 'map', amount_cents: 300 } });

    const before = await c.verifyReceipt(done.transactionId, { request });
    expect(before).toMatchObject({ valid: true, signature: true, inclusion: 'pending', problems: [] });
    expect(before.claims).toMatchObject({ transactionId: done.transactionId, status: 'succeeded' });
    const strict = await c.verifyReceipt(done.transactionId, { requireInclusion: true });
    expect(strict.valid).toBe(false);

    expect(await sequence(gw)).toBeGreaterThan(0);
    const after = await c.verifyReceipt(done.transactionId, { request, requireInclusion: true });
    expect(after).toMatchObject({ valid: true, inclusion: { included: true } });
    const newest = await c.checkpoint();
    expect(after.inclusion !== 'pending' && after.inclusion.root).toBe(newest.payload.root);

    // Tampered: a payload changed under its signature, another request, a proof that does not lead to the root.
    const [head, payload, signature] = done.receipt.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
    const forged = [
      head,
      Buffer.from(JSON.stringify({ ...claims, status: 'failed' })).toString('base64url'),
      signature,
    ].join('.');
    const tampered = await c.verifyReceipt({ receipt: forged });
    expect(tampered).toMatchObject({ valid: false, signature: false, claims: null });
    const other = await c.verifyReceipt(done.transactionId, { request: { ...request, amount_cents: 1 } });
    expect(other.valid).toBe(false);
    expect(other.problems).toEqual(['The receipt was issued for another request.']);

    const { receipt, log } = await c.receipt(done.transactionId);
    if (!log) throw new Error('not appended');
    expect(log.size).toBeGreaterThan(1);
    const wrongIndex = await c.verifyReceipt({ receipt, log: { ...log, index: (log.index + 1) % log.size } });
    expect(wrongIndex).toMatchObject({ valid: false, signature: true, inclusion: { included: false } });
    const flipped = log.inclusionProof.map((h, i) =>
      i === 0 ? `${h[0] === '0' ? '1' : '0'}${h.slice(1)}` : h,
    );
    const badProof = await c.verifyReceipt({ receipt, log: { ...log, inclusionProof: flipped } });
    expect(badProof).toMatchObject({ valid: false, inclusion: { included: false } });
    // Another receipt in this receipt's place in the log.
    const otherReceipt = (await c.receipt(another.transactionId)).receipt;
    const swapped = await c.verifyReceipt({ receipt: otherReceipt, log });
    expect(swapped).toMatchObject({ valid: false, signature: true, inclusion: { included: false } });
  });

  it('verifyConsistency holds the gateway to a checkpoint kept earlier', async () => {
    const c = client({ autoPrepare: 'always' });
    await c.execute({ businessId: 'shop', request: { sku: 'card', amount_cents: 200 } });
    await sequence(gw);
    const kept = (await c.checkpoint()).checkpoint;
    expect(await c.verifyConsistency(kept)).toMatchObject({ consistent: true, problems: [] });

    await c.execute({ businessId: 'shop', request: { sku: 'card', amount_cents: 300 } });
    await c.execute({ businessId: 'shop', request: { sku: 'card', amount_cents: 400 } });
    await sequence(gw);
    const grown = await c.verifyConsistency(kept);
    expect(grown.consistent).toBe(true);
    expect(grown.to).toBeGreaterThan(grown.from ?? Number.MAX_SAFE_INTEGER);

    // A kept checkpoint changed by hand no longer verifies; a later one held against an older tree fails.
    const [head, payload, signature] = kept.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
    const forged = [
      head,
      Buffer.from(JSON.stringify({ ...claims, root: '0'.repeat(64) })).toString('base64url'),
      signature,
    ].join('.');
    expect(await c.verifyConsistency(forged)).toMatchObject({ consistent: false });
    const newest = (await c.checkpoint()).checkpoint;
    const backwards = await c.verifyConsistency(newest, { to: claims.size });
    expect(backwards.consistent).toBe(false);
    expect(backwards.problems[0]).toMatch(/more than/);
  });

  it('refusals are typed errors carrying the gateway code', async () => {
    const strictTenant = await createTenant(gw, { name: 'Strict' });
    await putPolicy(strictTenant, {
      rules: [
        {
          id: 'no-big',
          conditions: [{ field: 'amount_cents', op: 'gte', value: 90_000 }],
          action: 'reject',
          reason: 'Too big for an agent',
        },
      ],
    });
    const c = new WardenClient({
      baseUrl: gateway.url,
      agentKey: strictTenant.agentKey,
      autoPrepare: 'always',
      retry: fast,
    });
    const policy = await c
      .execute({ businessId: 'shop', request: { amount_cents: 95_000 } })
      .catch((e: unknown) => e);
    expect(policy).toBeInstanceOf(PolicyRejectedError);
    expect(policy).toMatchObject({ status: 403, code: 'POLICY_REJECTED', details: { ruleId: 'no-big' } });

    const missing = await c.status('txn_01JF3Q7Z8X4M2N6P5R9S0T1V2W').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(WardenError);
    expect(missing).toMatchObject({ status: 404, code: 'TRANSACTION_NOT_FOUND' });

    const badKey = await new WardenClient({ baseUrl: gateway.url, agentKey: 'wk_nope', retry: fast })
      .discover('shop')
      .catch((e: unknown) => e);
    expect(badKey).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });

    const first = await c.execute({ businessId: 'shop', request: { sku: 'pen', amount_cents: 100 } });
    const reused = await c
      .execute(
        { businessId: 'shop', request: { sku: 'ink', amount_cents: 100 } },
        { idempotencyKey: first.idempotencyKey },
      )
      .catch((e: unknown) => e);
    expect(reused).toBeInstanceOf(WardenError);
    expect(reused).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });

    const nowhere = await c.discover('no-such-business').catch((e: unknown) => e);
    expect(nowhere).toMatchObject({ status: 400, code: 'BUSINESS_NOT_FOUND' });
  });
});
