import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets handed to people and agents: prefixed, 256 random bits, shown once, stored as SHA-256
 * (DESIGN §3). A lookup by hash is an exact index hit, so no secret is ever compared in plain text.
 */
export const SECRET_PREFIXES = {
  agentKey: 'wk_',
  memberToken: 'wm_',
  confirmationToken: 'wct_',
  inviteToken: 'wi_',
  businessKey: 'wb_',
  /** Console (issue 14): a session cookie, and an emailed sign-in link. */
  consoleSession: 'wcs_',
  consoleLink: 'wcl_',
  /** OAuth (issue 22): an authorization code, an access token, a refresh token. */
  oauthCode: 'woc_',
  oauthAccess: 'woa_',
  oauthRefresh: 'wor_',
} as const;

export function newSecret(kind: keyof typeof SECRET_PREFIXES): string {
  return `${SECRET_PREFIXES[kind]}${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Standard Webhooks secrets are `whsec_` + base64 of the key bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Constant-time comparison of two strings of any length (the operator token). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
