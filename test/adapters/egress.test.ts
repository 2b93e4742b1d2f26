import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutboundUrl, isBlockedAddress } from '../../adapters/egress.ts';
import { createAdapterDispatcher, OUTBOUND_NOT_ALLOWED } from '../../adapters/http/dispatcher.ts';
import { createHttpAdapter } from '../../adapters/http/index.ts';
import { AdapterError } from '../../adapters/types.ts';
import { newSigningSecret, startUpstream, type Upstream } from './upstream.ts';

describe('isBlockedAddress', () => {
  const blocked = [
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '100.64.0.1',
    '100.127.255.254',
    '127.0.0.1',
    '127.255.255.255',
    '169.254.0.1',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.192',
    '192.0.2.10',
    '192.168.1.1',
    '198.18.0.1',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '::ffff:10.0.0.1',
    '::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::10.1.2.3',
    '2002:7f00:1::',
    '2002:a9fe:a9fe::1',
    'fc00::1',
    'fd00:ec2::254',
    'fdff:ffff::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'fec0::1',
    'ff02::1',
    '2001::1',
    '2001:db8::1',
    '100::1',
    '3fff::1',
    // Not an IP address at all: fail closed.
    'example.com',
    '',
    '127.1',
    '1.2.3.4.5',
  ];
  const allowed = [
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '126.255.255.255',
    '128.0.0.1',
    '169.253.255.255',
    '169.255.0.1',
    '172.15.255.255',
    '172.32.0.1',
    '192.167.255.255',
    '192.169.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001:82b::200e',
    '[2606:4700::1]',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ];

  it.each(blocked)('blocks %s', (ip) => {
    expect(isBlockedAddress(ip)).toBe(true);
  });

  it.each(allowed)('allows %s', (ip) => {
    expect(isBlockedAddress(ip)).toBe(false);
  });
});

describe('checkOutboundUrl', () => {
  const strict = { allowPrivate: false };

  it('allows public http(s) URLs', () => {
    expect(checkOutboundUrl('https://shop.example.com/agp', strict)).toEqual({ ok: true });
    expect(checkOutboundUrl('http://8.8.8.8:8080/', strict)).toEqual({ ok: true });
    expect(checkOutboundUrl('https://[2606:4700:4700::1111]/', strict)).toEqual({ ok: true });
  });

  it.each([
    'http://127.0.0.1/',
    'http://127.1/',
    'http://2130706433/',
    'http://0x7f.0.0.1/',
    'http://[::1]:8080/',
    'http://[::ffff:127.0.0.1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.5/',
    'http://localhost:3000/',
    'http://LOCALHOST./',
    'http://api.localhost/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://0.0.0.0/',
  ])('refuses %s unless private addresses are allowed', (url) => {
    const result = checkOutboundUrl(url, strict);
    expect(result.ok).toBe(false);
    expect(checkOutboundUrl(url, { allowPrivate: true })).toEqual({ ok: true });
  });

  it.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://x/', 'javascript:alert(1)', 'not a url'])(
    'refuses %s even when private addresses are allowed',
    (url) => {
      const result = checkOutboundUrl(url, { allowPrivate: true });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(/URL/);
    },
  );
});

describe('createAdapterDispatcher egress guard', () => {
  let upstream: Upstream;
  const secret = newSigningSecret();
  const ctx = { businessId: 'biz_e', transactionId: 'txn_e' };

  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(async () => {
    await upstream.close();
  });

  async function callWith(dispatcher: Agent, baseUrl: string): Promise<unknown> {
    const adapter = createHttpAdapter({
      businessId: 'biz_e',
      config: { type: 'http', baseUrl },
      signingSecret: secret,
      dispatcher,
    });
    return adapter.discover(ctx).then(
      (r) => r,
      (e: unknown) => e,
    );
  }

  it('refuses a loopback upstream, by literal IP and by a name that resolves to it', async () => {
    const dispatcher = createAdapterDispatcher({ timeoutMs: 2_000, allowPrivate: false });
    try {
      for (const baseUrl of [upstream.url, `http://localhost:${upstream.port}`]) {
        const err = await callWith(dispatcher, baseUrl);
        expect(err).toBeInstanceOf(AdapterError);
        expect((err as AdapterError).code).toBe('ADAPTER_ERROR');
        expect((err as AdapterError).message).toBe(OUTBOUND_NOT_ALLOWED);
      }
      expect(upstream.connections()).toBe(0);
    } finally {
      await dispatcher.close();
    }
  });

  it('connects when private addresses are allowed', async () => {
    const dispatcher = createAdapterDispatcher({ timeoutMs: 2_000, allowPrivate: true });
    try {
      expect(await callWith(dispatcher, upstream.url)).toEqual({ status: 'succeeded', data: { ok: true } });
      expect(upstream.requests).toHaveLength(1);
    } finally {
      await dispatcher.close();
    }
  });
});
