import { WardenClient } from '@warden/client';
import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * Idempotency-Keys where `crypto.randomUUID` is missing (a browser page outside a secure context):
 * still random version-4 UUIDs, from `getRandomValues`. The fetch here is a stand-in that only
 * records the header (the gateway's side is in sdk.test.ts).
 */
describe('Idempotency-Keys', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('are random v4 UUIDs with or without crypto.randomUUID', async () => {
    const keys: string[] = [];
    const recording: typeof fetch = async (_input, init) => {
      keys.push(new Headers(init?.headers).get('Idempotency-Key') ?? '');
      const body = { transactionId: `txn_${keys.length}`, status: 'succeeded', data: null };
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    const client = new WardenClient({ baseUrl: 'http://warden.test', agentKey: 'wk_x', fetch: recording });
    const order = { businessId: 'shop', request: { sku: 'tea' } };
    await client.execute(order);
    const webCrypto = globalThis.crypto;
    vi.stubGlobal('crypto', {
      getRandomValues: webCrypto.getRandomValues.bind(webCrypto),
      subtle: webCrypto.subtle,
    });
    expect(typeof globalThis.crypto.randomUUID).toBe('undefined');
    await client.execute(order);
    await client.execute(order);
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(keys).toHaveLength(3);
    for (const key of keys) expect(key).toMatch(v4);
    expect(new Set(keys).size).toBe(3);
  });
});
