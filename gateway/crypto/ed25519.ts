import { type KeyObject, sign } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * Ed25519 signatures (RFC 8032) for everything the gateway signs: receipts, checkpoints, forwarded
 * requests. libsodium (`sodium-native`) signs in ~20 µs where node:crypto's one-shot `sign` takes
 * ~37 µs on the same machine (it sets up an OpenSSL context per call); an open execute signs twice
 * (its RFC 9421 forward and its receipt), on the event loop. Ed25519 is deterministic, so both give
 * the same bytes; when the native module cannot load (a platform without a prebuilt binary),
 * node:crypto signs instead.
 */

interface Sodium {
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_PUBLICKEYBYTES: number;
  crypto_sign_BYTES: number;
  sodium_malloc(size: number): Buffer;
  crypto_sign_seed_keypair(publicKey: Buffer, secretKey: Buffer, seed: Buffer): void;
  crypto_sign_detached(signature: Buffer, message: Buffer, secretKey: Buffer): void;
}

function loadSodium(): Sodium | null {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return null;
  }
}

const sodium = loadSodium();

/** libsodium's secret key (seed ‖ public key) of each KeyObject, in memory libsodium guards. */
const secretKeys = new WeakMap<KeyObject, Buffer>();

function secretKeyOf(s: Sodium, key: KeyObject): Buffer {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
      throw new TypeError('An Ed25519 private key is required.');
    }
    const { d = '' } = key.export({ format: 'jwk' });
    const seed = Buffer.from(d, 'base64url');
    secret = s.sodium_malloc(s.crypto_sign_SECRETKEYBYTES);
    s.crypto_sign_seed_keypair(Buffer.alloc(s.crypto_sign_PUBLICKEYBYTES), secret, seed);
    seed.fill(0);
    secretKeys.set(key, secret);
  }
  return secret;
}

/** Which implementation signs in this process (for the startup log and tests). */
export const ed25519Implementation: 'libsodium' | 'node:crypto' = sodium ? 'libsodium' : 'node:crypto';

/** The 64-byte Ed25519 signature of `data` with the private `key`. */
export function signEd25519(data: Buffer, key: KeyObject): Buffer {
  if (sodium === null) return sign(null, data, key);
  const signature = Buffer.allocUnsafe(sodium.crypto_sign_BYTES);
  sodium.crypto_sign_detached(signature, data, secretKeyOf(sodium, key));
  return signature;
}
