import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Sealer } from '../../crypto/sealing.ts';
import type { Db } from '../../db/types.ts';
import { newId } from '../../ids.ts';
import {
  insertCurrentKey,
  type KeyPurpose,
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

/** A forward key as the HTTP Message Signatures directory publishes it: no `alg` (RFC 9421 names `ed25519`). */
export interface DirectoryJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
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
  /** Opened private keys by id; a key's sealed bytes may change (reseal), never the key itself. */
  readonly #keys = new Map<string, KeyObject>();

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    /** Issue 24: `forward` keys sign forwarded requests (RFC 9421); `receipt` keys, receipts. */
    readonly purpose: KeyPurpose = 'receipt',
  ) {}

  async #list() {
    return (await listSigningKeys(this.db.reader)).filter((k) => k.purpose === this.purpose);
  }

  /** Creates the first key if there is none (once, whichever replica starts first), then loads. */
  async init(now: number): Promise<void> {
    if (!(await this.#list()).some((k) => k.status === 'current')) {
      const key = newSigningKey(this.sealer, now, this.purpose);
      await this.db.transaction({}, (tx) => insertCurrentKey(tx, key));
    }
    await this.reload();
  }

  /** Reads the keys again (another replica or the CLI may have rotated); concurrent calls share one read. */
  reload(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const current = (await this.#list()).find((k) => k.status === 'current');
        if (!current)
          throw new Error(`No current ${this.purpose} signing key: run \`warden signing-key rotate\`.`);
        this.#current = { kid: current.kid, key: this.#opened(current.kid, current.privateKey) };
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
    return { keys: (await this.#list()).map((k) => JSON.parse(k.publicJwk) as PublicJwk) };
  }

  /**
   * The keys a verifier may meet now (issue 24, rotation with overlap): the current one, and those a
   * rotation retired less than `overlapMs` ago. Past the overlap a key is no longer published, so a
   * business refuses what it signed.
   */
  async published(now: number, overlapMs: number): Promise<{ jwk: DirectoryJwk; key: KeyObject }[]> {
    return (await this.#list())
      .filter((k) => k.status === 'current' || (k.retiredAt !== null && k.retiredAt + overlapMs > now))
      .map((k) => {
        const { kty, crv, x, kid } = JSON.parse(k.publicJwk) as PublicJwk;
        return { jwk: { kty, crv, x, kid, use: 'sig' as const }, key: this.#opened(k.kid, k.privateKey) };
      });
  }

  /** A private key opened once (the directory signs its answer with every key it lists). */
  #opened(kid: string, sealed: string): KeyObject {
    let key = this.#keys.get(kid);
    if (!key) {
      key = privateKeyOf(this.sealer, sealed);
      this.#keys.set(kid, key);
    }
    return key;
  }
}

function privateKeyOf(sealer: Sealer, sealed: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(sealer.open(sealed), 'base64'), format: 'der', type: 'pkcs8' });
}

/**
 * The JWK SHA-256 Thumbprint of an Ed25519 public key (RFC 7638 §3: the required members in
 * lexicographic order, no spaces), base64url: Web Bot Auth's `keyid`.
 */
export function jwkThumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

/**
 * A fresh Ed25519 key as stored: the JWK of its public half, its private half sealed. A forward
 * key's id is its JWK thumbprint, as Web Bot Auth asks of a `keyid`.
 */
export function newSigningKey(
  sealer: Sealer,
  now: number,
  purpose: KeyPurpose = 'receipt',
): StoredSigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  const kid = purpose === 'forward' ? jwkThumbprint(x) : newId('signingKey');
  const jwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' };
  const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  return {
    kid,
    publicJwk: JSON.stringify(jwk),
    privateKey: sealer.seal(der),
    status: 'current',
    purpose,
    createdAt: now,
    retiredAt: null,
  };
}

/**
 * `warden keys rotate`: the current key retires (still published), a new one becomes current, and
 * the config version moves, in one transaction. Answers the new key's id.
 */
export async function rotateSigningKey(
  db: Db,
  sealer: Sealer,
  now: number,
  purpose: KeyPurpose = 'receipt',
): Promise<string> {
  // A key sealed under another SECRETS_KEY would be one no gateway can open: prove this one is
  // theirs by opening the current key first (throws, naming the key id, never a secret).
  const current = (await listSigningKeys(db.reader)).find(
    (k) => k.status === 'current' && k.purpose === purpose,
  );
  if (current) sealer.open(current.privateKey);
  const key = newSigningKey(sealer, now, purpose);
  const stored = await db.transaction({}, async (tx) => {
    await retireCurrentKey(tx, purpose, now);
    return insertCurrentKey(tx, key);
  });
  if (!stored) throw new Error('Another rotation made a new key at the same moment; run it again.');
  return key.kid;
}
