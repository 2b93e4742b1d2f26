import { createHmac, randomBytes } from 'node:crypto';

/**
 * Keys for what the gateway signs or hashes itself (CSRF fields, one-time codes). Derived from
 * SECRETS_KEY, one per purpose; without it a random key per process (then a page opened before a
 * restart must be reloaded, and codes issued before it are void; several replicas need SECRETS_KEY).
 */
export interface Keyring {
  csrf: Buffer;
  otp: Buffer;
  /** Console (issue 14): the CSRF field of every console form, bound to the session. */
  console: Buffer;
}

export function createKeyring(secretsKey: string | undefined): Keyring {
  const root = secretsKey ? Buffer.from(secretsKey, 'utf8') : randomBytes(32);
  const derive = (purpose: string) => createHmac('sha256', root).update(`warden:${purpose}`).digest();
  return { csrf: derive('approval-link-csrf'), otp: derive('approval-otp'), console: derive('console-csrf') };
}
