import { createHash, createPublicKey } from 'node:crypto';
import { createVerifier, httpbis } from 'http-message-signatures';
import { calculateJwkThumbprint } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { rotateSigningKey } from '../../gateway/services/ledger/index.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  listen,
  type RecordedRequest,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { type ReceivedRequest, type Verdict, verifyingBusiness } from './verifying-business.ts';

/**
 * Issue 24 item 4: every forward carries an RFC 9421 signature (Web Bot Auth profile) beside the
 * Standard Webhooks headers. A stand-in business verifies each one with `http-message-signatures`
 * against the gateway's published directory, and refuses a changed body, a replay, an expired
 * signature and a key retired by a rotation once the overlap has passed.
 */

const PUBLIC_BASE_URL = 'https://gateway.example';
const OVERLAP_SECONDS = 3600;
const DIRECTORY_TYPE = 'application/http-message-signatures-directory+json';

for (const dialect of DIALECTS) {
  describe(`RFC 9421 signatures on forwards (${dialect})`, () => {
    let gw: TestGateway;
    let server: { url: string; close: () => Promise<void> };
    let upstream: Upstream;
    let tenant: Tenant;
    let verify: ReturnType<typeof verifyingBusiness>;
    /** What the business concluded of each request it received, in order. */
    const verdicts: Verdict[] = [];

    const received = (r: RecordedRequest): ReceivedRequest => ({
      method: r.method,
      url: `${upstream.url}${r.url}`,
      headers: r.headers,
      body: Buffer.from(r.body, 'utf8'),
    });

    /** Sends a request the business received before to it again, as an attacker replaying it would. */
    async function resend(r: RecordedRequest, body = r.body, headers: Record<string, string> = {}) {
      const sent = Object.fromEntries(
        Object.entries(r.headers).filter(
          (e): e is [string, string] =>
            typeof e[1] === 'string' && !['host', 'content-length', 'connection'].includes(e[0]),
        ),
      );
      const res = await fetch(`${upstream.url}${r.url}`, {
        method: r.method,
        headers: { ...sent, ...headers },
        body: r.method === 'GET' ? undefined : body,
      });
      return { status: res.status, verdict: verdicts.at(-1) };
    }

    beforeAll(async () => {
      upstream = await startUpstream(async (req, res) => {
        const verdict = await verify(received(req));
        verdicts.push(verdict);
        if (!verdict.ok) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(verdict));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'succeeded', data: { ok: true } }));
      });
      gw = await startTestGateway({
        dialect,
        env: { PUBLIC_BASE_URL, FORWARD_SIGNING_KEY_OVERLAP_SECONDS: String(OVERLAP_SECONDS) },
      });
      server = await listen(gw);
      verify = verifyingBusiness({ gatewayUrl: server.url, signatureAgent: PUBLIC_BASE_URL });
      const registered = await call(gw, 'POST', '/v1/admin/businesses', {
        key: ADMIN_TOKEN,
        body: {
          id: 'shop',
          name: 'Shop',
          category: 'retail',
          adapter: {
            type: 'http',
            baseUrl: `${upstream.url}/api`,
            // A query sent as GET: no body, so no Content-Digest, still signed.
            operations: { query: { method: 'GET', path: '/catalog' } },
          },
        },
      });
      expect(registered.status).toBe(201);
      tenant = await createTenant(gw);
    });
    afterEach(() => {
      vi.useRealTimers();
    });
    afterAll(async () => {
      await server.close();
      await gw.dispose();
      await upstream.close();
    });

    const execute = (request: Record<string, unknown>, idempotencyKey?: string) =>
      call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: 'shop', request },
        ...(idempotencyKey ? { headers: { 'Idempotency-Key': idempotencyKey } } : {}),
      });

    it('publishes its key as a signed Web Bot Auth directory', async () => {
      const res = await fetch(`${server.url}/.well-known/http-message-signatures-directory`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(DIRECTORY_TYPE);
      const { keys } = (await res.json()) as { keys: { kty: string; crv: string; x: string; kid: string }[] };
      expect(keys).toHaveLength(1);
      const key = keys[0] as (typeof keys)[number];
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', use: 'sig' });
      // keyid: the JWK SHA-256 thumbprint (RFC 7638), computed here by jose.
      expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: key.x }));
      // The answer is signed by the key it lists, over the authority it was asked at.
      const headers = Object.fromEntries(res.headers.entries());
      const verified = await httpbis.verifyMessage(
        {
          keyLookup: async (params) =>
            params.keyid === key.kid && params.tag === 'http-message-signatures-directory'
              ? {
                  id: key.kid,
                  algs: ['ed25519'],
                  verify: createVerifier(createPublicKey({ key: { ...key }, format: 'jwk' }), 'ed25519'),
                }
              : null,
          requiredFields: ['@authority'],
        },
        { status: res.status, headers },
        { method: 'GET', url: `${server.url}/.well-known/http-message-signatures-directory`, headers: {} },
      );
      expect(verified).toBe(true);
    });

    it('every forward (discover, a GET query, executes) verifies at the business, beside Standard Webhooks', async () => {
      const before = upstream.requests.length;
      expect(
        (await call(gw, 'POST', '/agp/discover', { key: tenant.agentKey, body: { businessId: 'shop' } }))
          .status,
      ).toBe(200);
      const query = await call(gw, 'POST', '/agp/query', {
        key: tenant.agentKey,
        body: { businessId: 'shop', request: { q: 'pens' } },
      });
      expect(query.status).toBe(200);
      expect((await execute({ item: 'pen', amount_cents: 100 }, 'idem-1')).status).toBe(200);
      expect((await execute({ item: 'ink', amount_cents: 300 })).status).toBe(200);

      const sent = upstream.requests.slice(before);
      expect(sent.map((r) => r.method)).toEqual(['POST', 'GET', 'POST', 'POST']);
      expect(verdicts.slice(before).every((v) => v.ok)).toBe(true);
      for (const r of sent) {
        expect(r.headers['signature-agent']).toBe(`sig1="${PUBLIC_BASE_URL}"`);
        expect(r.headers['webhook-signature']).toMatch(/^v1,/);
        expect(String(r.headers['signature-input'])).toContain('tag="web-bot-auth"');
        expect(String(r.headers['signature-input'])).toContain('alg="ed25519"');
      }
      const withKey = sent[2] as RecordedRequest;
      expect(String(withKey.headers['signature-input'])).toContain('"idempotency-key"');
      expect(withKey.headers['content-digest']).toBe(
        `sha-256=:${createHash('sha256').update(withKey.body).digest('base64')}:`,
      );
      expect(sent[1]?.headers['content-digest']).toBeUndefined();
    });

    it('a changed body is refused, with or without a recomputed Content-Digest', async () => {
      expect((await execute({ item: 'pen', amount_cents: 100 })).status).toBe(200);
      const original = upstream.requests.at(-1) as RecordedRequest;
      const changed = original.body.replace('"amount_cents":100', '"amount_cents":100000');
      expect(changed).not.toBe(original.body);
      expect(await resend(original, changed)).toEqual({
        status: 401,
        verdict: { ok: false, reason: 'digest' },
      });
      const digest = `sha-256=:${createHash('sha256').update(changed).digest('base64')}:`;
      expect(await resend(original, changed, { 'content-digest': digest })).toEqual({
        status: 401,
        verdict: { ok: false, reason: 'signature' },
      });
    });

    it('a replayed forward is refused, and so is one past its expires', async () => {
      expect((await execute({ item: 'pen', amount_cents: 100 })).status).toBe(200);
      const captured = upstream.requests.at(-1) as RecordedRequest;
      expect(verdicts.at(-1)?.ok).toBe(true);
      // The same bytes again, within the signature's validity: the same created and nonce.
      expect(await resend(captured)).toEqual({ status: 401, verdict: { ok: false, reason: 'replayed' } });
      // Ten minutes later (expires is created + 300 s) it is refused as expired, whatever the nonce.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 10 * 60_000);
      expect(await resend(captured)).toEqual({ status: 401, verdict: { ok: false, reason: 'expired' } });
    });

    it('after a rotation the old key verifies during the overlap, and is refused past it', async () => {
      const oldKid = gw.deps.forwardKeys.current().kid;
      expect((await execute({ item: 'pen', amount_cents: 100 })).status).toBe(200);
      const underOldKey = upstream.requests.at(-1) as RecordedRequest;

      const newKid = await rotateSigningKey(gw.db, gw.deps.sealer, gw.now.value, 'forward');
      await gw.deps.forwardKeys.reload();
      expect(newKid).not.toBe(oldKid);
      expect((await execute({ item: 'pen', amount_cents: 100 })).status).toBe(200);
      expect(verdicts.at(-1)).toEqual({ ok: true, keyid: newKid });

      // A business that has not seen the old forward yet (its own nonce memory) still accepts it.
      const late = verifyingBusiness({ gatewayUrl: server.url, signatureAgent: PUBLIC_BASE_URL });
      const asReceived = {
        method: underOldKey.method,
        url: `${upstream.url}${underOldKey.url}`,
        headers: underOldKey.headers,
        body: Buffer.from(underOldKey.body),
      };
      expect(await late(asReceived)).toEqual({ ok: true, keyid: oldKid });

      gw.now.advance(OVERLAP_SECONDS * 1000 + 1000);
      const listed = await fetch(`${server.url}/.well-known/http-message-signatures-directory`);
      const { keys } = (await listed.json()) as { keys: { kid: string }[] };
      expect(keys.map((k) => k.kid)).toEqual([newKid]);
      const later = verifyingBusiness({ gatewayUrl: server.url, signatureAgent: PUBLIC_BASE_URL });
      expect(await later(asReceived)).toEqual({ ok: false, reason: 'unknown-key' });
      expect((await execute({ item: 'pen', amount_cents: 100 })).status).toBe(200);
      expect(verdicts.at(-1)).toEqual({ ok: true, keyid: newKid });
    });
  });
}

describe('RFC 9421 and Standard Webhooks can each be turned off per business', () => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway();
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const register = (id: string, signatures: Record<string, boolean>) =>
    call(gw, 'POST', '/v1/admin/businesses', {
      key: ADMIN_TOKEN,
      body: {
        id,
        name: id,
        category: 'retail',
        adapter: { type: 'http', baseUrl: upstream.url, signatures },
      },
    });

  it('forwards carry only the signatures the business keeps; both off is refused', async () => {
    expect((await register('no-9421', { httpMessageSignatures: false })).status).toBe(201);
    expect((await register('no-webhooks', { standardWebhooks: false })).status).toBe(201);
    const both = await register('none', { standardWebhooks: false, httpMessageSignatures: false });
    expect(both.status).toBe(400);
    expect(both.body.code).toBe('VALIDATION_ERROR');

    const forward = async (businessId: string) => {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId, request: { item: 'pen' } },
      });
      expect(res.status).toBe(200);
      return upstream.requests.at(-1) as RecordedRequest;
    };
    const webhooksOnly = await forward('no-9421');
    expect(webhooksOnly.headers['webhook-signature']).toMatch(/^v1,/);
    expect(webhooksOnly.headers['signature-input']).toBeUndefined();
    expect(webhooksOnly.headers.signature).toBeUndefined();
    const rfc9421Only = await forward('no-webhooks');
    expect(rfc9421Only.headers['webhook-signature']).toBeUndefined();
    expect(rfc9421Only.headers['webhook-timestamp']).toBeUndefined();
    expect(rfc9421Only.headers['signature-input']).toContain('tag="web-bot-auth"');
  });
});
