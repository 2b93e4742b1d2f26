import { createPrivateKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519Implementation, signEd25519 } from '../../gateway/crypto/ed25519.ts';

/**
 * Receipts, checkpoints and forwards are signed with libsodium: its signatures must be the very
 * bytes node:crypto (OpenSSL) makes for the same key and message, so a verifier sees no change.
 */
describe('Ed25519 signing', () => {
  it('signs with libsodium on this platform', () => {
    expect(ed25519Implementation).toBe('libsodium');
  });

  it('gives node:crypto’s signature, byte for byte, for any key and message', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 2048 }),
        (seed, message) => {
          // An Ed25519 private key from its 32-byte seed (PKCS #8 prefix of RFC 8410 §7).
          const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
          const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
          const data = Buffer.from(message);
          const signature = signEd25519(data, key);
          expect(signature.equals(sign(null, data, key))).toBe(true);
          expect(verify(null, data, key, signature)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('signs with each key its own signature after a rotation', () => {
    const first = generateKeyPairSync('ed25519');
    const second = generateKeyPairSync('ed25519');
    const data = Buffer.from('{"v":2}');
    const a = signEd25519(data, first.privateKey);
    const b = signEd25519(data, second.privateKey);
    expect(verify(null, data, first.publicKey, a)).toBe(true);
    expect(verify(null, data, second.publicKey, b)).toBe(true);
    expect(verify(null, data, first.publicKey, b)).toBe(false);
    // The first key again, after the second was seen: still its own.
    expect(signEd25519(data, first.privateKey).equals(a)).toBe(true);
  });

  it('refuses a key that is not a private Ed25519 key', () => {
    const data = Buffer.from('x');
    expect(() => signEd25519(data, generateKeyPairSync('ed25519').publicKey)).toThrow(/Ed25519 private key/);
    expect(() => signEd25519(data, generateKeyPairSync('x25519').privateKey)).toThrow(/Ed25519 private key/);
  });
});
