import { columns } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import { bumpConfigVersion } from './config.ts';

/**
 * The gateway's signing keys: the private half as stored (sealed), the public one as a JWK. Receipts
 * and checkpoints (DESIGN §9) are signed by the `receipt` keys; forwarded requests (RFC 9421,
 * issue 24) by the `forward` keys. Each purpose has its own current key and its own rotations.
 */
export type KeyPurpose = 'receipt' | 'forward';

export interface StoredSigningKey {
  kid: string;
  publicJwk: string;
  privateKey: string;
  status: 'current' | 'retired';
  purpose: KeyPurpose;
  createdAt: number;
  retiredAt: number | null;
}

const S = columns('signing_keys', [
  'kid',
  'public_jwk',
  'private_key',
  'status',
  'created_at',
  'retired_at',
  'purpose',
]);
const toKey = (raw: unknown[]): StoredSigningKey => {
  const {
    kid,
    public_jwk: publicJwk,
    private_key: privateKey,
    status,
    created_at: createdAt,
    retired_at: retiredAt,
    purpose,
  } = S.row(raw);
  return { kid, publicJwk, privateKey, status, purpose: purpose as KeyPurpose, createdAt, retiredAt };
};
const ALL = sql(`SELECT ${S.list} FROM signing_keys ORDER BY created_at, kid`, toKey);
// The partial unique index on the current key turns a second "first key" into nothing.
const INSERT = sql(
  `INSERT INTO signing_keys (${S.list}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING kid`,
);
const RETIRE = sql(
  `UPDATE signing_keys SET status = 'retired', retired_at = ? WHERE status = 'current' AND purpose = ?`,
);
const RESEAL = sql('UPDATE signing_keys SET private_key = ? WHERE kid = ? AND private_key = ?');

export function listSigningKeys(conn: Conn): Promise<StoredSigningKey[]> {
  return conn.all(ALL);
}

/**
 * Stores `key` as the current one; false when there already is a current key (another replica
 * created it first). Every replica learns of a new key through the config version.
 */
export async function insertCurrentKey(tx: Conn, key: StoredSigningKey): Promise<boolean> {
  const rows = await tx.all(INSERT, [
    key.kid,
    key.publicJwk,
    key.privateKey,
    'current',
    key.createdAt,
    null,
    key.purpose,
  ]);
  if (rows.length > 0) await bumpConfigVersion(tx);
  return rows.length > 0;
}

/** Retires the current key of `purpose` (it stays published); answers whether there was one. */
export async function retireCurrentKey(tx: Conn, purpose: KeyPurpose, at: number): Promise<boolean> {
  return (await tx.run(RETIRE, [at, purpose])) > 0;
}

/** Replaces a sealed private key with the same key sealed anew (`warden secrets reseal`). */
export async function resealSigningKey(tx: Conn, kid: string, from: string, to: string): Promise<boolean> {
  return (await tx.run(RESEAL, [to, kid, from])) > 0;
}
