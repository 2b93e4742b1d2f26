import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets the gateway must read back in clear (receipt signing keys, business signing secrets,
 * webhook secrets) are sealed at rest with AES-256-GCM under a key derived from SECRETS_KEY
 * (issue 10). A sealed value names its key: `enc:v1:<kid>:<iv>:<ciphertext+tag>` (base64url), so
 * SECRETS_KEY can rotate: the old one goes to SECRETS_KEY_PREVIOUS, still opens what it sealed,
 * and `warden secrets reseal` moves everything to the new one.
 *
 * Without SECRETS_KEY (development only; production refuses to start) values are stored as they
 * are, and a plain value is always readable: rows written before sealing existed keep working.
 */
export interface Sealer {
  /** Whether `seal` encrypts (SECRETS_KEY is set). */
  readonly encrypting: boolean;
  /** The id of the key `seal` uses (null without SECRETS_KEY). */
  readonly kid: string | null;
  seal(plain: string): string;
  open(stored: string): string;
  /** Whether `stored` is plain, or sealed under a key other than the current one. */
  stale(stored: string): boolean;
}

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Key {
  kid: string;
  key: Buffer;
}

function deriveKey(secret: string): Key {
  const key = Buffer.from(hkdfSync('sha256', secret, '', 'warden:sealing:v1', 32));
  // The id is a hash of the derived key: it names the key without revealing anything of it.
  const kid = createHash('sha256').update(key).update('warden:sealing:kid').digest('hex').slice(0, 12);
  return { kid, key };
}

export class SealedValueError extends Error {
  override readonly name = 'SealedValueError';
}

export function createSealer(current: string | undefined, previous: readonly string[] = []): Sealer {
  const active = current ? deriveKey(current) : null;
  const keys = new Map<string, Buffer>();
  for (const k of [active, ...previous.map(deriveKey)]) if (k) keys.set(k.kid, k.key);

  return {
    encrypting: active !== null,
    kid: active?.kid ?? null,
    seal(plain) {
      if (!active) return plain;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', active.key, iv);
      // The key id is authenticated too: a value cannot be moved under another key's name.
      cipher.setAAD(Buffer.from(active.kid));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${PREFIX}${active.kid}:${iv.toString('base64url')}:${body.toString('base64url')}`;
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [kid = '', iv = '', body = ''] = stored.slice(PREFIX.length).split(':');
      const key = keys.get(kid);
      if (!key) {
        throw new SealedValueError(
          `A secret is sealed under key ${kid}, which is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS.`,
        );
      }
      const data = Buffer.from(body, 'base64url');
      if (data.length < TAG_BYTES) throw new SealedValueError('A sealed secret is truncated.');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(kid));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      try {
        return Buffer.concat([
          decipher.update(data.subarray(0, data.length - TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw new SealedValueError(`A secret sealed under key ${kid} failed authentication (altered?).`);
      }
    },
    stale(stored) {
      if (!active) return false;
      return !stored.startsWith(`${PREFIX}${active.kid}:`);
    },
  };
}
