import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type {
  Approval,
  ApprovalLink,
  ApprovalStage,
  Business,
  Member,
  Transaction,
} from '../../domain/index.ts';
import { getApproval } from '../../repositories/approvals.ts';
import { findLink, insertLink } from '../../repositories/links.ts';
import { getBusiness, getMember } from '../../repositories/tenancy.ts';
import { getTransaction } from '../../repositories/transactions.ts';
import { hashSecret } from '../../secrets.ts';
import type { Deps } from '../context.ts';
import { decideApproval } from './approvals.ts';
import type { OtpService } from './otp-types.ts';

const TOKEN_PREFIX = 'wal_';
const TOKEN_SHAPE = /^wal_[A-Za-z0-9_-]{43}$/;

/**
 * A personal magic link for one member and one stage (DESIGN §5): 256 random bits, only the hash
 * stored, valid until the stage deadline and only while that stage is the active one.
 */
export async function issueLink({
  deps,
  workspaceId,
  approvalId,
  position,
  memberId,
  expiresAt,
}: {
  deps: Deps;
  workspaceId: string;
  approvalId: string;
  position: number;
  memberId: string;
  expiresAt: number;
}): Promise<{ token: string; url: string }> {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const link = {
    tokenHash: hashSecret(token),
    approvalId,
    position,
    memberId,
    workspaceId,
    createdAt: deps.clock(),
    expiresAt,
  };
  await deps.db.transaction({}, (tx) => insertLink(tx, link));
  return { token, url: `${deps.config.publicBaseUrl}/approve/${token}` };
}

export interface ActiveLink {
  state: 'active';
  link: ApprovalLink;
  approval: Approval;
  stage: ApprovalStage;
  transaction: Transaction;
  business: Business | undefined;
  member: Member;
}

/** Why a link cannot be used, each with its own page. */
export type DeadLink =
  | { state: 'unknown' }
  | { state: 'used'; decision: 'approve' | 'reject'; at: number; approval: Approval }
  | { state: 'decided'; approval: Approval }
  | { state: 'moved_on'; approval: Approval }
  | { state: 'expired'; approval: Approval }
  | { state: 'not_allowed'; approval: Approval };

/** Looks a link up and checks, at use, that it is still alive (decided, moved on and expired kill it). */
export async function resolveLink({
  deps,
  token,
}: {
  deps: Deps;
  token: string;
}): Promise<ActiveLink | DeadLink> {
  if (!TOKEN_SHAPE.test(token)) return { state: 'unknown' };
  const reader = deps.db.reader;
  const link = await findLink(reader, hashSecret(token));
  if (!link) return { state: 'unknown' };
  const approval = await getApproval(reader, link.workspaceId, link.approvalId);
  if (!approval) return { state: 'unknown' };
  const vote = approval.votes.find((v) => v.memberId === link.memberId);
  if (vote) return { state: 'used', decision: vote.decision, at: vote.createdAt, approval };
  if (approval.status !== 'pending') return { state: 'decided', approval };
  const stage = approval.stages.find((s) => s.position === link.position);
  if (stage?.status !== 'pending') return { state: 'moved_on', approval };
  const now = deps.clock();
  if (now >= link.expiresAt || (stage.deadlineAt !== null && now >= stage.deadlineAt)) {
    return { state: 'expired', approval };
  }
  const member = await getMember(reader, link.workspaceId, link.memberId);
  if (!member || member.role !== stage.role) return { state: 'not_allowed', approval };
  const transaction = await getTransaction(reader, link.workspaceId, approval.transactionId);
  if (!transaction) return { state: 'unknown' };
  const business = transaction.businessId ? await getBusiness(reader, transaction.businessId) : undefined;
  return { state: 'active', link, approval, stage, transaction, business, member };
}

/** The hidden form field that binds a decision POST to the page of this link (CSRF). */
export function csrfToken(key: Buffer, link: ApprovalLink): string {
  return createHmac('sha256', key).update(`csrf:${link.tokenHash}`).digest('base64url');
}

export function checkCsrf(key: Buffer, link: ApprovalLink, presented: string): boolean {
  const expected = Buffer.from(csrfToken(key, link));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A decision through a magic link: the link's member, for the link's stage only, with the one-time
 * code checked first when that stage is critical. Recorded and executed by `decideApproval`.
 */
export async function decideByLink({
  deps,
  otp,
  active,
  decision,
  reason,
  code,
}: {
  deps: Deps;
  otp: OtpService;
  active: ActiveLink;
  decision: 'approve' | 'reject';
  reason?: string;
  code?: string;
}) {
  const { link, member } = active;
  const otpVerified =
    decision === 'approve' &&
    (await otp.confirm({
      workspaceId: link.workspaceId,
      approvalId: link.approvalId,
      member: { memberId: member.id, role: member.role },
      code,
      position: link.position,
    }));
  const ctx = { deps, workspaceId: link.workspaceId, actor: { type: 'member' as const, id: member.id } };
  return decideApproval({
    ctx,
    input: {
      approvalId: link.approvalId,
      member: { memberId: member.id, role: member.role },
      decision,
      reason,
      via: 'link',
      position: link.position,
      otpVerified,
    },
  });
}
