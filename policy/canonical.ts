import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** RFC 8785 (JCS) canonical JSON: key order and number formatting no longer change the hash. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('Value cannot be canonicalised as JSON.');
  return text;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-256 of the RFC 8785 canonical form; what tokens, idempotency keys and approvals bind to. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
