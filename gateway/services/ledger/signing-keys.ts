import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Sealer } from '../../crypto/sealing.ts';
import type { Db } from '../../db/types.ts';
import { newId } from '../../ids.ts';
import {
  insertCurrentKey,
  listSigningKeys,
  retireCurrentKey,
  type StoredSigningKey,
} from '../../repositories/signing-keys.ts';

/** A public key as published in the JWK Set (RFC 7517, RFC 8037 for OKP/Ed25519). */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/**
 * The gateway's receipt signing keys (DESIGN §9, issue 10): Ed25519, generated on first start,
 * the private half sealed under SECRETS_KEY, rotated with `warden keys rotate`. Every replica
 * signs with the current key: a rotation bumps the config version, and each replica reloads the
 * keys when it sees the version move (ConfigCache.onChange), so the next receipt it signs uses the
 * new key; the retired keys stay published so what they signed still verifies.
 */
export class SigningKeys {
  #current: { kid: string; key: KeyObject } | undefined;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {}

  /** Creates the first key if there is none (once, whichever replica starts first), then loads. */
  async init(now: number): Promise<void> {
    if (!(await listSigningKeys(this.db.reader)).some((k) => k.status === 'current')) {
      const key = newSigningKey(this.sealer, now);
      await this.db.transaction({}, (tx) => insertCurrentKey(tx, key));
    }
    await this.reload();
  }

  /** Reads the keys again (another replica or the CLI may have rotated); concurrent calls share one read. */
  reload(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const current = (await listSigningKeys(this.db.reader)).find((k) => k.status === 'current');
        if (!current) throw new Error('No current receipt signing key: run `warden signing-key rotate`.');
        this.#current = {
          kid: current.kid,
          key: createPrivateKey({
            key: Buffer.from(this.sealer.open(current.privateKey), 'base64'),
            format: 'der',
            type: 'pkcs8',
          }),
        };
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  /** The key receipts are signed with now. */
  current(): { kid: string; key: KeyObject } {
    if (!this.#current) throw new Error('The receipt signing keys are not loaded (SigningKeys.init).');
    return this.#current;
  }

  /** Every key, current and retired, as a JWK Set (RFC 7517 §5), read fresh from the database. */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    return { keys: (await listSigningKeys(this.db.reader)).map((k) => JSON.parse(k.publicJwk) as PublicJwk) };
  }
}

/** A fresh Ed25519 key as stored: the JWK of its public half, its private half sealed. */
export function newSigningKey(sealer: Sealer, now: number): StoredSigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const kid = newId('signingKey');
  const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  const jwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' };
  const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  return {
    kid,
    publicJwk: JSON.stringify(jwk),
    privateKey: sealer.seal(der),
    status: 'current',
    createdAt: now,
    retiredAt: null,
  };
}

/**
 * `warden keys rotate`: the current key retires (still published), a new one becomes current, and
 * the config version moves, in one transaction. Answers the new key's id.
 */
export async function rotateSigningKey(db: Db, sealer: Sealer, now: number): Promise<string> {
  // A key sealed under another SECRETS_KEY would be one no gateway can open: prove this one is
  // theirs by opening the current key first (throws, naming the key id, never a secret).
  const current = (await listSigningKeys(db.reader)).find((k) => k.status === 'current');
  if (current) sealer.open(current.privateKey);
  const key = newSigningKey(sealer, now);
  const stored = await db.transaction({}, async (tx) => {
    await retireCurrentKey(tx, now);
    return insertCurrentKey(tx, key);
  });
  if (!stored) throw new Error('Another rotation made a new key at the same moment; run it again.');
  return key.kid;
}
