import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack refuses requests older than this; so do we (replays of an old, captured callback). */
export const SLACK_MAX_AGE_SECONDS = 5 * 60;

export type SlackSignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Slack's request signature, version 0, as Slack documents it ("Verifying requests from Slack"):
 * the base string `v0:{X-Slack-Request-Timestamp}:{raw body}` is signed with HMAC-SHA256 under the
 * app's signing secret, hex-encoded and prefixed `v0=`, and sent as `X-Slack-Signature`. The
 * timestamp must be within five minutes of now, and the comparison is constant-time. The raw body
 * is the bytes as received: re-encoding the form would change them.
 */
export function verifySlackSignature(input: {
  signingSecret: string;
  rawBody: string;
  timestamp: string | undefined;
  signature: string | undefined;
  /** Epoch ms. */
  now: number;
}): SlackSignatureCheck {
  const { signingSecret, rawBody, timestamp, signature, now } = input;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'no request timestamp' };
  if (!signature?.startsWith('v0=')) return { ok: false, reason: 'no v0 signature' };
  if (Math.abs(Math.floor(now / 1000) - Number(timestamp)) > SLACK_MAX_AGE_SECONDS) {
    return { ok: false, reason: 'the request timestamp is more than five minutes away' };
  }
  const expected = Buffer.from(
    `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`,
  );
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'the signature does not match' };
  }
  return { ok: true };
}
