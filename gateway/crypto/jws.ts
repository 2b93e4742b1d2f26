import { createHash, type KeyObject } from 'node:crypto';
import { signEd25519 } from './ed25519.ts';

/** Lowercase hex SHA-256 (DESIGN §9 writes every hash this way). */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/**
 * A JWS in compact serialisation (RFC 7515 §7.1) with `alg` EdDSA (RFC 8037): Ed25519 over
 * `BASE64URL(header) '.' BASE64URL(payload)`, signed synchronously (`signEd25519`, ~20 µs) rather
 * than through an async library; tests verify with `jose`.
 */
export function signCompact(
  header: { kid: string; typ?: string },
  payload: string,
  privateKey: KeyObject,
): string {
  const input = `${b64url(JSON.stringify({ alg: 'EdDSA', ...header }))}.${b64url(payload)}`;
  return `${input}.${signEd25519(Buffer.from(input), privateKey).toString('base64url')}`;
}
