import type { OtpKey, Role } from '../../domain/index.ts';

/**
 * Checks a critical-tier one-time code (DESIGN §5: 6 digits, 10 minutes, 5 tries). The email side
 * issues codes; this is what a decision needs from it.
 */
export interface OtpVerifier {
  verify(input: {
    workspaceId: string;
    approvalId: string;
    memberId: string;
    code: string;
  }): Promise<boolean>;
}

/** Until codes can be issued, no code verifies: critical stages cannot be approved without one. */
export const noOtp: OtpVerifier = { verify: async () => false };

export type OtpCheck =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'wrong' | 'expired' | 'locked'; message: string; triesLeft: number };

export interface OtpService extends OtpVerifier {
  /** Emails a new code to the member for the active (or the given) stage; refused once locked. */
  send(input: {
    workspaceId: string;
    approvalId: string;
    member: { memberId: string; email: string; role: Role };
    position?: number;
  }): Promise<{ expiresAt: number }>;
  /** `verify` with the reason when it fails, for people (wrong, expired, locked, tries left). */
  check(input: {
    workspaceId: string;
    approvalId: string;
    memberId: string;
    code: string;
    position?: number;
  }): Promise<OtpCheck>;
  /** The failure to show when no code was given. */
  missing(key: OtpKey): Promise<OtpCheck & { ok: false }>;
  /**
   * Before an approval: true when the member's active (or given) stage is critical and `code`
   * verifies; false when no code is needed here (the vote itself reports any other problem);
   * throws FORBIDDEN with the reason (missing, wrong with tries left, expired, locked) otherwise.
   */
  confirm(input: {
    workspaceId: string;
    approvalId: string;
    member: { memberId: string; role: Role };
    code?: string;
    position?: number;
  }): Promise<boolean>;
}
