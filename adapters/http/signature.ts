import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `v1,` + base64 HMAC-SHA256 over
 * `{id}.{timestamp}.{payload}` with the secret's bytes (`whsec_` + base64). The `standardwebhooks`
 * package checks the secret once, when the adapter is built; signing itself runs on node:crypto,
 * because the package's pure-JS SHA-256 costs tens of microseconds on every forwarded request.
 * Tests verify what this produces with the package.
 */
export function createSigner(
  secret: string,
): (id: string, timestampSeconds: number, payload: string) => string {
  new Webhook(secret); // throws on a malformed secret
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  return (id, timestampSeconds, payload) =>
    `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${payload}`).digest('base64')}`;
}
