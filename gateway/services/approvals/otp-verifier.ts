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
