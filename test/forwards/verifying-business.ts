import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import { createVerifier, ExpiredError, httpbis } from 'http-message-signatures';

/**
 * A business that verifies Warden's forwards with off-the-shelf code, as docs/businesses.md shows:
 * `http-message-signatures` (an RFC 9421 implementation independent of the gateway's) against the
 * gateway's published key directory, plus the two checks RFC 9421 leaves to the application: the
 * body against `Content-Digest` (RFC 9530) and a nonce seen once.
 */

export type Verdict =
  | { ok: true; keyid: string }
  | {
      ok: false;
      reason: 'unsigned' | 'digest' | 'agent' | 'unknown-key' | 'expired' | 'signature' | 'replayed';
    };

export interface ReceivedRequest {
  method: string;
  /** The absolute URL the request was sent to. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

interface DirectoryKey extends JsonWebKey {
  kid: string;
}

export function verifyingBusiness({
  gatewayUrl,
  signatureAgent,
}: {
  gatewayUrl: string;
  signatureAgent: string;
}) {
  const seenNonces = new Set<string>();

  async function directory(): Promise<DirectoryKey[]> {
    const res = await fetch(`${gatewayUrl}/.well-known/http-message-signatures-directory`);
    return ((await res.json()) as { keys: DirectoryKey[] }).keys;
  }

  return async function verify(req: ReceivedRequest): Promise<Verdict> {
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter((e): e is [string, string | string[]] => e[1] !== undefined),
    );
    if (!headers['signature-input'] || !headers.signature) return { ok: false, reason: 'unsigned' };
    // RFC 9530: the body is what Content-Digest says (the signature covers the header, not the body).
    if (req.body.length > 0) {
      const digest = `sha-256=:${createHash('sha256').update(req.body).digest('base64')}:`;
      if (headers['content-digest'] !== digest) return { ok: false, reason: 'digest' };
    }
    // Web Bot Auth: the agent named in Signature-Agent is the gateway this business trusts.
    if (headers['signature-agent'] !== `sig1="${signatureAgent}"`) return { ok: false, reason: 'agent' };

    const keys = await directory();
    let nonce: string | undefined;
    let keyid = '';
    let verified: boolean | null;
    try {
      verified = await httpbis.verifyMessage(
        {
          keyLookup: async (params) => {
            if (params.tag !== 'web-bot-auth') return null;
            const jwk = keys.find((k) => k.kid === params.keyid);
            if (!jwk) return null;
            nonce = typeof params.nonce === 'string' ? params.nonce : undefined;
            keyid = jwk.kid;
            const key = createPublicKey({ key: jwk, format: 'jwk' });
            return { id: jwk.kid, algs: ['ed25519'], verify: createVerifier(key, 'ed25519') };
          },
          requiredParams: ['created', 'expires', 'keyid', 'alg', 'nonce', 'tag'],
          requiredFields: [
            '@method',
            '@target-uri',
            'webhook-id',
            'signature-agent',
            ...(req.body.length > 0 ? ['content-digest'] : []),
          ],
        },
        { method: req.method, url: req.url, headers },
      );
    } catch (err) {
      return { ok: false, reason: err instanceof ExpiredError ? 'expired' : 'signature' };
    }
    // null: no signature by a key the directory lists (an unknown or retired key).
    if (verified === null) return { ok: false, reason: 'unknown-key' };
    if (!verified) return { ok: false, reason: 'signature' };
    if (!nonce || seenNonces.has(nonce)) return { ok: false, reason: 'replayed' };
    seenNonces.add(nonce);
    return { ok: true, keyid };
  };
}
