/**
 * The operator's execute mode (DESIGN §4, reference 002 §2): open | confirm | strict.
 * Pure: the gateway gathers the stored token and passes it in; this decides which refusal applies.
 */
export type ExecuteMode = 'open' | 'confirm' | 'strict';

/** The exact refusal sentences of DESIGN §4 (normative), by code, in check order. */
export const EXECUTE_MODE_MESSAGES = {
  CONFIRMATION_REQUIRED: 'Execute confirmation required. Provide x-confirmation-token header.',
  CONFIRMATION_UNVERIFIABLE: 'Unable to validate confirmation token for execute payload.',
  CONFIRMATION_INVALID: 'Invalid confirmation token.',
  CONFIRMATION_EXPIRED: 'Confirmation token expired. Prepare a new token.',
  CONFIRMATION_MISMATCH: 'Confirmation token does not match this execute request.',
} as const;

export type ExecuteModeRefusal = keyof typeof EXECUTE_MODE_MESSAGES | 'AMOUNT_LIMIT_EXCEEDED';

export const amountLimitMessage = (max: number): string =>
  `Execute amount exceeds policy limit (${max} cents).`;

export const requiresToken = (mode: ExecuteMode): boolean => mode !== 'open';

/** A stored confirmation token as the check needs it. */
export interface TokenBinding {
  agentKeyId: string;
  businessId: string;
  requestHash: string;
  expiresAt: number;
}

/** What the agent presented with its execute. */
export interface PresentedExecute {
  agentKeyId: string;
  businessId: string;
  requestHash: string;
  now: number;
}

/**
 * Token checks in DESIGN §4 order: unknown or another key's → invalid, expired, then mismatch.
 * Returns null when the token admits this request.
 */
export function checkToken(
  token: TokenBinding | undefined,
  presented: PresentedExecute,
): 'CONFIRMATION_INVALID' | 'CONFIRMATION_EXPIRED' | 'CONFIRMATION_MISMATCH' | null {
  if (!token || token.agentKeyId !== presented.agentKeyId) return 'CONFIRMATION_INVALID';
  if (token.expiresAt <= presented.now) return 'CONFIRMATION_EXPIRED';
  if (token.businessId !== presented.businessId || token.requestHash !== presented.requestHash) {
    return 'CONFIRMATION_MISMATCH';
  }
  return null;
}

/** Strict mode's ceiling: an amount it cannot read is not over the ceiling. */
export function exceedsCeiling(mode: ExecuteMode, amount: number | null, max: number): boolean {
  return mode === 'strict' && amount !== null && amount > max;
}
