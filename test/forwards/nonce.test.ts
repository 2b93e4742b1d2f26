import { generateKeyPairSync } from 'node:crypto';
import { parseDictionary } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { createMessageSigner } from '../../adapters/http/message-signature.ts';

/**
 * The forward signature's nonce is drawn from a pooled buffer of random bytes: across several
 * refills of the pool every forward still carries 32 fresh bytes, never a nonce seen before.
 */
describe('RFC 9421 nonces on forwards', () => {
  it('are 32 random bytes each, distinct across pool refills', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const sign = createMessageSigner({
      key: () => ({ kid: 'k1', key: privateKey }),
      agent: 'https://gw.example',
    });
    const nonces = new Set<string>();
    const count = 1_000; // 128 nonces per 4 KiB pool: about eight refills
    for (let i = 0; i < count; i++) {
      const headers: Record<string, string | string[]> = { 'content-type': 'application/json' };
      sign({
        method: 'POST',
        url: 'https://shop.example/agp/execute',
        headers,
        body: Buffer.from('{}'),
        now: 1_700_000_000,
      });
      const [, params] = parseDictionary(headers['signature-input'] as string).get('sig1') as [
        unknown,
        Map<string, unknown>,
      ];
      const nonce = params.get('nonce');
      expect(typeof nonce).toBe('string');
      expect(Buffer.from(nonce as string, 'base64url')).toHaveLength(32);
      nonces.add(nonce as string);
    }
    expect(nonces.size).toBe(count);
  });
});
