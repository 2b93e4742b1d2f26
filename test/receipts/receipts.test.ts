import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { compactVerify, createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCompact } from '../../gateway/crypto/jws.ts';
import { sql } from '../../gateway/db/types.ts';
import { RECEIPT_TYP } from '../../gateway/services/ledger/receipts.ts';
import { rotateSigningKey } from '../../gateway/services/ledger/signing-keys.ts';
import { open, signIn } from '../console/support.ts';
import { park, policyKey, stage, stagedPolicy } from '../e2e/support.ts';
import * as rfc from '../ledger/rfc9162.ts';
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

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const jcsHash = (value: unknown) => sha256(canonicalize(value) as string);

interface Payload {
  v: number;
  transactionId: string;
  workspaceId: string;
  agentId: string;
  businessId: string;
  operation: string;
  status: string;
  amount: number | null;
  currency: string | null;
  requestHash: string;
  responseHash: string | null;
  decision: { outcome: string; ruleId: string | null; policy: { name: string; version: number | null } };
  approvers: string[];
  issuedAt: string;
}

/** Flips one character of a compact JWS in `part` (0 header, 1 payload, 2 signature). */
function tamper(jws: string, part: 0 | 1 | 2): string {
  const parts = jws.split('.');
  const segment = parts[part] as string;
  const i = Math.floor(segment.length / 2);
  parts[part] = segment.slice(0, i) + (segment[i] === 'A' ? 'B' : 'A') + segment.slice(i + 1);
  return parts.join('.');
}

// DESIGN §9 (normative): every settled execute gets an EdDSA compact JWS (v2), sealed by the ledger log.
describe.each(DIALECTS)('receipts on %s', (dialect) => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  let live: { url: string; close: () => Promise<void> };
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let shop: string;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      const body = JSON.parse(req.body) as { request: { sku?: string } };
      const failed = body.request.sku === 'broken';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          failed
            ? { status: 'failed', data: { reason: 'out of stock' } }
            : {
                status: 'succeeded',
                data: { order: `o-${upstream.requests.length}`, sku: body.request.sku },
              },
        ),
      );
    });
    gw = await startTestGateway({ dialect, realClock: true });
    tenant = await createTenant(gw);
    shop = (await registerHttpBusiness(gw, upstream.url)).id;
    live = await listen(gw);
    // The verifier knows only the gateway's URL: the keys come over HTTP, as for any client.
    jwks = createRemoteJWKSet(new URL(`${live.url}/.well-known/warden-keys`));
  });
  afterAll(async () => {
    await live.close();
    await gw.dispose();
    await upstream.close();
  });

  const execute = (request: Record<string, unknown>, key = tenant.agentKey, headers = {}) =>
    call(gw, 'POST', '/agp/execute', { key, body: { businessId: shop, request }, headers });

  const verify = async (jws: string) => {
    const { payload, protectedHeader } = await compactVerify(jws, jwks);
    return { payload: JSON.parse(new TextDecoder().decode(payload)) as Payload, header: protectedHeader };
  };

  it('the JWK Set is public, Ed25519, and names its keys', async () => {
    const res = await fetch(`${live.url}/.well-known/warden-keys`);
    expect(res.status).toBe(200);
    const set = (await res.json()) as { keys: Record<string, string>[] };
    expect(set.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of set.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(key.kid).toMatch(/^sig_/);
      expect(key).not.toHaveProperty('d');
    }
  });

  it('three executes: each 200 carries a receipt that verifies, says what happened, and the log includes it', async () => {
    const requests = [
      { sku: 'coffee', quantity: 1, amount_cents: 90, currency: 'USD' },
      { sku: 'tea', amount_cents: 120 },
      { sku: 'cake', note: { b: 2, a: 1 } },
    ];
    const receipts: string[] = [];
    for (const request of requests) {
      const res = await execute(request);
      expect(res.status).toBe(200);
      expect(typeof res.body.receipt).toBe('string');
      receipts.push(res.body.receipt as string);
    }
    const payloads: Payload[] = [];
    for (const [i, jws] of receipts.entries()) {
      const { payload, header } = await verify(jws);
      expect(header.alg).toBe('EdDSA');
      expect(typeof header.kid).toBe('string');
      payloads.push(payload);
      const request = requests[i] as Record<string, unknown>;
      expect(payload).not.toHaveProperty('prev');
      expect(payload).toMatchObject({
        v: 2,
        workspaceId: tenant.workspaceId,
        agentId: 'agent-1',
        businessId: shop,
        operation: 'execute',
        status: 'succeeded',
        // The same hash a confirmation token binds to: RFC 8785, then SHA-256, lowercase hex.
        requestHash: jcsHash(request),
        decision: { outcome: 'auto_approve', ruleId: null, policy: { name: 'default', version: null } },
        approvers: [],
      });
      expect(Number.isNaN(Date.parse(payload.issuedAt))).toBe(false);
    }
    expect(payloads.map((p) => p.amount)).toEqual([90, 120, null]);
    expect(payloads[0]?.currency).toBe('USD');
    // responseHash is over the adapter's data, canonicalised.
    const status = await call(gw, 'GET', `/agp/status/${payloads[0]?.transactionId}`, {
      key: tenant.agentKey,
    });
    expect(payloads[0]?.responseHash).toBe(jcsHash(status.body.data));
    // No receipt names another: the ledger log orders them once appended. Until then `log` is null.
    const id = (i: number) => payloads[i]?.transactionId as string;
    const before = await call(gw, 'GET', `/agp/receipts/${id(0)}`, { key: tenant.agentKey });
    expect(before.body.log).toBeNull();
    await sequence(gw);
    const indexes: number[] = [];
    for (const [i, jws] of receipts.entries()) {
      const res = await call(gw, 'GET', `/agp/receipts/${id(i)}`, { key: tenant.agentKey });
      const log = res.body.log as {
        index: number;
        size: number;
        inclusionProof: string[];
        checkpoint: string;
      };
      const cp = await compactVerify(log.checkpoint, jwks);
      expect(cp.protectedHeader.typ).toBe('warden-checkpoint+jws');
      const signed = JSON.parse(new TextDecoder().decode(cp.payload));
      expect(signed).toMatchObject({ v: 1, workspaceId: tenant.workspaceId, size: log.size });
      // Checked with the tests' own RFC 9162 code: the receipt is leaf `index` under the signed root.
      const entry = Buffer.from(canonicalize({ kind: 'receipt', jws }) as string);
      const proof = log.inclusionProof.map((h) => Buffer.from(h, 'hex'));
      expect(
        rfc.verifyInclusion(log.index, log.size, rfc.leaf(entry), proof, Buffer.from(signed.root, 'hex')),
      ).toBe(true);
      indexes.push(log.index);
    }
    // In the order they committed.
    expect([...indexes].sort((a, b) => a - b)).toEqual(indexes);
  });

  it('one changed byte anywhere fails verification', async () => {
    const res = await execute({ sku: 'scone', amount_cents: 5 });
    const jws = res.body.receipt as string;
    await expect(verify(jws)).resolves.toBeDefined();
    for (const part of [0, 1, 2] as const) {
      await expect(verify(tamper(jws, part))).rejects.toThrow();
    }
    // A payload edited and re-encoded (amount 5 → 0) does not verify either.
    const [h, p, s] = jws.split('.') as [string, string, string];
    const edited = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    edited.amount = 0;
    await expect(
      verify(`${h}.${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${s}`),
    ).rejects.toThrow();
  });

  it('GET /agp/status and GET /agp/receipts answer the same receipt; a replay returns it too', async () => {
    const res = await execute({ sku: 'bagel', amount_cents: 30 }, tenant.agentKey, {
      'Idempotency-Key': 'rcpt-1',
    });
    const id = res.body.transactionId as string;
    const status = await call(gw, 'GET', `/agp/status/${id}`, { key: tenant.agentKey });
    expect(status.body.receipt).toBe(res.body.receipt);
    const receipt = await call(gw, 'GET', `/agp/receipts/${id}`, { key: tenant.agentKey });
    expect(receipt.status).toBe(200);
    expect(receipt.body.transactionId).toBe(id);
    expect(receipt.body.receipt).toBe(res.body.receipt);
    expect(receipt.body.payload).toEqual((await verify(res.body.receipt as string)).payload);
    const replay = await execute({ sku: 'bagel', amount_cents: 30 }, tenant.agentKey, {
      'Idempotency-Key': 'rcpt-1',
    });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.receipt).toBe(res.body.receipt);
  });

  it('a failed execute gets a receipt saying failed; another workspace cannot read it', async () => {
    const res = await execute({ sku: 'broken', amount_cents: 10 });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('failed');
    const { payload } = await verify(res.body.receipt as string);
    expect(payload.status).toBe('failed');
    expect(payload.responseHash).toBe(jcsHash({ reason: 'out of stock' }));
    const other = await createTenant(gw, { name: 'Other' });
    const stranger = await call(gw, 'GET', `/agp/receipts/${res.body.transactionId}`, {
      key: other.agentKey,
    });
    expect(stranger.status).toBe(404);
    expect(stranger.body.code).toBe('TRANSACTION_NOT_FOUND');
    const missing = await call(gw, 'GET', '/agp/receipts/txn_nope', { key: tenant.agentKey });
    expect(missing.body.code).toBe('TRANSACTION_NOT_FOUND');
  });

  it('an approved request: the receipt names the rule, the policy version and every approver in order', async () => {
    const member = async (email: string, role: string) => {
      const res = await call(gw, 'POST', '/v1/members', { key: tenant.adminToken, body: { email, role } });
      return { id: (res.body.member as { id: string }).id, token: res.body.token as string };
    };
    const ann = await member(`ann-${dialect}@acme.test`, 'approver');
    const dan = await member(`dan-${dialect}@acme.test`, 'admin');
    const key = await policyKey(gw, tenant, 'two', stagedPolicy([stage(0, 'approver'), stage(1, 'admin')]));
    const { transactionId, approvalId } = await park(gw, key, { sku: 'sofa', amount_cents: 50_000 }, shop);
    // Parked: no receipt yet.
    const early = await call(gw, 'GET', `/agp/receipts/${transactionId}`, { key });
    expect(early.status).toBe(404);
    expect(early.body.code).toBe('RECEIPT_NOT_FOUND');
    for (const { token } of [ann, dan]) {
      const vote = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, { key: token, body: {} });
      expect(vote.status).toBe(200);
    }
    const receipt = await call(gw, 'GET', `/agp/receipts/${transactionId}`, { key });
    expect(receipt.status).toBe(200);
    const { payload } = await verify(receipt.body.receipt as string);
    expect(payload.status).toBe('succeeded');
    expect(payload.decision).toEqual({
      outcome: 'approval',
      ruleId: 'needs-people',
      policy: { name: 'two', version: 1 },
    });
    // Stage by stage: the approver of stage 0, then the admin of stage 1.
    expect(payload.approvers).toEqual([ann.id, dan.id]);
  });

  it('a stored receipt naming another transaction or workspace is never served as this one’s', async () => {
    // A workspace of its own: the rows changed here are in no other test's chain.
    const swap = await createTenant(gw, { name: `Swap ${dialect}` });
    const run = async (sku: string) => {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: swap.agentKey,
        body: { businessId: shop, request: { sku, amount_cents: 1 } },
      });
      expect(res.status).toBe(200);
      return { id: res.body.transactionId as string, receipt: res.body.receipt as string };
    };
    const a = await run('apple');
    const b = await run('banana');
    // Whoever can write the database puts B's receipt (signature and all) in A's row.
    const store = (jws: string) =>
      gw.db.transaction({}, (tx) =>
        tx.run(sql('UPDATE receipts SET jws = ?, hash = ? WHERE transaction_id = ?'), [
          jws,
          sha256(jws),
          a.id,
        ]),
      );
    await store(b.receipt);
    const cookie = await signIn(gw, swap.adminToken);

    const refusedAs = async (why: RegExp) => {
      const res = await call(gw, 'GET', `/agp/receipts/${a.id}`, { key: swap.agentKey });
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({
        code: 'INTERNAL_ERROR',
        error: `The receipt stored for transaction ${a.id} names another transaction or workspace, so it is not served: the ledger has been altered. An operator can check it with \`warden receipt verify ${a.id}\`.`,
      });
      // Neither the status nor the transaction API hands it out as A's.
      const status = await call(gw, 'GET', `/agp/status/${a.id}`, { key: swap.agentKey });
      expect(status.status).toBe(200);
      expect(status.body.status).toBe('succeeded');
      expect(status.body).not.toHaveProperty('receipt');
      const detail = await call(gw, 'GET', `/v1/transactions/${a.id}`, { key: swap.adminToken });
      expect(detail.body.receipt).toBeNull();
      // The console's receipt view: does not verify, and why; the foreign receipt is not shown.
      const { html } = await open(gw, `/console/transactions/${a.id}`, cookie);
      const state = /<p id="receipt-state">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '';
      expect(state).toContain('<span class="badge bad">does not verify</span>');
      expect(state).toContain('but it is not this transaction&#39;s receipt.');
      expect(state).toMatch(why);
      expect(html).not.toContain(b.receipt);
      expect(html).not.toContain(b.receipt.split('.')[1] as string);
    };
    await refusedAs(new RegExp(`names transaction ${b.id}, not ${a.id}`));
    // B's own receipt is still B's.
    const fine = await call(gw, 'GET', `/agp/receipts/${b.id}`, { key: swap.agentKey });
    expect(fine.status).toBe(200);
    expect(fine.body.receipt).toBe(b.receipt);

    // A receipt naming A, signed by the gateway's own key, but another workspace: refused too.
    const { kid, key } = gw.deps.signingKeys.current();
    const payload = { ...(await verify(a.receipt)).payload, workspaceId: tenant.workspaceId };
    await store(signCompact({ kid, typ: RECEIPT_TYP }, JSON.stringify(payload), key));
    await refusedAs(new RegExp(`names workspace ${tenant.workspaceId}, not ${swap.workspaceId}`));

    // Put back, A's receipt is served again.
    await store(a.receipt);
    const back = await call(gw, 'GET', `/agp/receipts/${a.id}`, { key: swap.agentKey });
    expect(back.status).toBe(200);
    expect(back.body.receipt).toBe(a.receipt);
    await sequence(gw);
    const { html } = await open(gw, `/console/transactions/${a.id}`, cookie);
    expect(html).toMatch(/id="receipt-state"><span class="badge good">verified<\/span>/);
  });

  it('after a key rotation old and new receipts both verify, and new ones name the new key', async () => {
    const before = (await execute({ sku: 'old', amount_cents: 1 })).body.receipt as string;
    const oldKid = decodeProtectedHeader(before).kid;
    const kid = await rotateSigningKey(gw.db, gw.deps.sealer, Date.now());
    expect(kid).not.toBe(oldKid);
    const after = (await execute({ sku: 'new', amount_cents: 1 })).body.receipt as string;
    expect(decodeProtectedHeader(after).kid).toBe(kid);
    // A fresh verifier (no cached keys): both verify against the published set.
    const fresh = createRemoteJWKSet(new URL(`${live.url}/.well-known/warden-keys`));
    await expect(compactVerify(before, fresh)).resolves.toBeDefined();
    await expect(compactVerify(after, fresh)).resolves.toBeDefined();
    // The log takes both, and its checkpoint is signed with the new key.
    await sequence(gw);
    const newest = await call(gw, 'GET', '/agp/ledger/checkpoint', { key: tenant.agentKey });
    expect(decodeProtectedHeader(newest.body.checkpoint as string).kid).toBe(kid);
    await expect(compactVerify(newest.body.checkpoint as string, fresh)).resolves.toBeDefined();
  });
});
