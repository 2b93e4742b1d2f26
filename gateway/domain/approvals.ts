import type { Role } from './tenancy.ts';

/** People deciding parked requests (DESIGN §5, §6): approvals, their stages, votes, links, codes. */

export interface StagePlan {
  index: number;
  role: Role;
  tier: 'standard' | 'critical_otp';
  quorum: number;
  timeoutSeconds: number;
  onTimeout: 'reject' | 'escalate_next';
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';
export type StageStatus = 'waiting' | 'pending' | 'approved' | 'rejected' | 'expired' | 'escalated';

export interface ApprovalStage extends StagePlan {
  position: number;
  status: StageStatus;
  activatedAt: number | null;
  deadlineAt: number | null;
  decidedAt: number | null;
}

export interface ApprovalVote {
  memberId: string;
  position: number;
  decision: 'approve' | 'reject';
  reason: string | null;
  via: 'api' | 'link' | 'console' | 'slack';
  createdAt: number;
}

export interface Approval {
  id: string;
  workspaceId: string;
  transactionId: string;
  requestHash: string;
  status: ApprovalStatus;
  stages: ApprovalStage[];
  votes: ApprovalVote[];
  createdAt: number;
  updatedAt: number;
}

export interface DueStage {
  approvalId: string;
  position: number;
}

/** A personal magic link for one member and one stage; only the token's SHA-256 is stored. */
export interface ApprovalLink {
  tokenHash: string;
  approvalId: string;
  position: number;
  memberId: string;
  workspaceId: string;
  createdAt: number;
  /** The stage deadline. */
  expiresAt: number;
}

export interface OtpKey {
  approvalId: string;
  position: number;
  memberId: string;
}

export interface OtpIssue extends OtpKey {
  workspaceId: string;
  codeHash: string;
  createdAt: number;
  expiresAt: number;
}

export interface OtpState {
  attempts: number;
  expiresAt: number;
  usedAt: number | null;
}
