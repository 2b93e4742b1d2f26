import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../../domain/errors.ts';
import type { OtpKey, Role } from '../../domain/index.ts';
import { formatAmount, formatTime } from '../../notify/format.ts';
import type { Mailer } from '../../notify/mailer.ts';
import { getApproval } from '../../repositories/approvals.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { attemptOtp, consumeOtp, getOtpState, issueOtp } from '../../repositories/links.ts';
import { countedSince, countRequest } from '../../repositories/rate.ts';
import { getBusiness } from '../../repositories/tenancy.ts';
import { getTransaction } from '../../repositories/transactions.ts';
import type { Deps } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';
import type { OtpCheck, OtpService } from './otp-types.ts';

export type { OtpCheck, OtpService } from './otp-types.ts';

/** DESIGN §5: 6 digits, 10 minutes, 5 tries. */
export const OTP_TTL_MS = 10 * 60_000;
export const OTP_MAX_ATTEMPTS = 5;

/**
 * Code requests per member and approval (issue 10): at most 3 in any 10 minutes, counted in the
 * shared `rate_counters` table so the limit holds across replicas. Each request emails a code, so
 * the limit bounds the mail one member can cause, and how many codes one approval hands out.
 */
export const OTP_REQUEST_LIMIT = 3;
export const OTP_REQUEST_WINDOW_MS = 10 * 60_000;

export interface OtpOptions {
  deps: Deps;
  mailer: Mailer;
  /** HMAC key the codes are hashed with (a 6-digit code's plain SHA-256 is trivially reversed). */
  key: Buffer;
  ttlMs?: number;
  maxAttempts?: number;
  /** Codes one member may request for one approval within `requestWindowMs`. */
  requestLimit?: number;
  requestWindowMs?: number;
}

/**
 * One-time codes for critical-tier stages. A code is hashed at rest and emailed straight away,
 * not through the outbox, so it is never stored in clear. Tries are counted per member and stage
 * with one conditional update each, so parallel guesses cannot exceed the limit; five wrong ones
 * lock the step (no new code, no further tries).
 */
export function createOtpService({
  deps,
  mailer,
  key,
  ttlMs = OTP_TTL_MS,
  maxAttempts = OTP_MAX_ATTEMPTS,
  requestLimit = OTP_REQUEST_LIMIT,
  requestWindowMs = OTP_REQUEST_WINDOW_MS,
}: OtpOptions): OtpService {
  if (requestLimit < 1) throw new Error('requestLimit must be at least 1.');
  const hash = (k: OtpKey, code: string) =>
    createHmac('sha256', key).update(`${k.approvalId}:${k.position}:${k.memberId}:${code}`).digest('hex');

  const locked = (): OtpCheck & { ok: false } => ({
    ok: false,
    reason: 'locked',
    message: `${maxAttempts} wrong codes were entered: this step is locked for you. Ask another approver.`,
    triesLeft: 0,
  });

  async function activePosition(workspaceId: string, approvalId: string): Promise<number | undefined> {
    const approval = await getApproval(deps.db.reader, workspaceId, approvalId);
    return approval?.stages.find((s) => s.status === 'pending')?.position;
  }

  async function missing(k: OtpKey): Promise<OtpCheck & { ok: false }> {
    const state = await getOtpState(deps.db.reader, k);
    if (state && state.attempts >= maxAttempts) return locked();
    return {
      ok: false,
      reason: 'missing',
      message: 'This stage needs a one-time code: request one, then approve with it.',
      triesLeft: maxAttempts - (state?.attempts ?? 0),
    };
  }

  async function check(input: {
    workspaceId: string;
    approvalId: string;
    memberId: string;
    code: string;
    position?: number;
  }): Promise<OtpCheck> {
    const position = input.position ?? (await activePosition(input.workspaceId, input.approvalId));
    if (position === undefined) return missing({ ...input, position: -1 });
    const k: OtpKey = { approvalId: input.approvalId, position, memberId: input.memberId };
    const now = deps.clock();
    const claimed = await deps.db.transaction({}, (tx) => attemptOtp(tx, k, now, maxAttempts));
    if (!claimed) {
      const state = await getOtpState(deps.db.reader, k);
      if (state && state.attempts >= maxAttempts) return locked();
      if (state && state.usedAt === null && state.expiresAt <= now) {
        return {
          ok: false,
          reason: 'expired',
          message: 'That code has expired: request a new one.',
          triesLeft: maxAttempts - state.attempts,
        };
      }
      return missing(k);
    }
    const given = Buffer.from(hash(k, input.code), 'hex');
    const stored = Buffer.from(claimed.codeHash, 'hex');
    const right = given.length === stored.length && timingSafeEqual(given, stored);
    if (right && (await deps.db.transaction({}, (tx) => consumeOtp(tx, k, claimed.codeHash, now))))
      return { ok: true };
    const state = await getOtpState(deps.db.reader, k);
    const attempts = state?.attempts ?? maxAttempts;
    if (attempts >= maxAttempts) {
      const ctx = {
        deps,
        workspaceId: input.workspaceId,
        actor: { type: 'member' as const, id: input.memberId },
      };
      const audit = auditEvent(ctx, 'approval.otp_locked', input.approvalId, { position }, now);
      await deps.db.transaction({ workspaceId: input.workspaceId }, (tx) => appendAudit(tx, audit));
      return locked();
    }
    const left = maxAttempts - attempts;
    return {
      ok: false,
      reason: 'wrong',
      message: `That code is not right: ${left} ${left === 1 ? 'try' : 'tries'} left.`,
      triesLeft: left,
    };
  }

  async function send(input: {
    workspaceId: string;
    approvalId: string;
    member: { memberId: string; email: string; role: Role };
    position?: number;
  }): Promise<{ expiresAt: number }> {
    const approval = await getApproval(deps.db.reader, input.workspaceId, input.approvalId);
    if (!approval) throw new GatewayError('NOT_FOUND', `No approval ${input.approvalId}.`);
    const stage = approval.stages.find((s) => s.status === 'pending');
    if (
      approval.status !== 'pending' ||
      !stage ||
      (input.position !== undefined && input.position !== stage.position)
    ) {
      throw new GatewayError('CONFLICT', 'This request is no longer waiting for this decision.', {
        status: approval.status,
      });
    }
    if (stage.tier !== 'critical_otp') {
      throw new GatewayError('CONFLICT', 'The active stage does not need a one-time code.');
    }
    if (stage.role !== input.member.role) {
      throw new GatewayError('FORBIDDEN', `The active stage needs the ${stage.role} role.`);
    }
    if (approval.votes.some((v) => v.memberId === input.member.memberId)) {
      throw new GatewayError('CONFLICT', 'You have already decided on this request.');
    }
    const now = deps.clock();
    const k: OtpKey = { approvalId: approval.id, position: stage.position, memberId: input.member.memberId };
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = now + ttlMs;
    const issue = {
      ...k,
      workspaceId: input.workspaceId,
      codeHash: hash(k, code),
      createdAt: now,
      expiresAt,
    };
    // A sliding window over the member's earlier requests for this approval. Read, then issue and
    // log, under the workspace's lock (one writer on SQLite, an advisory lock on PostgreSQL): a
    // burst on any number of replicas never gets more than `requestLimit` codes. Refused requests
    // are not logged, so the wait announced in Retry-After is the real one.
    const counter = `otp:${approval.id}:${input.member.memberId}`;
    const outcome = await deps.db.transaction({ workspaceId: input.workspaceId }, async (tx) => {
      const recent = await countedSince(tx, counter, now - requestWindowMs);
      const retryAt = retryAtOf(recent, requestLimit, requestWindowMs);
      if (retryAt !== undefined) return { refused: 'limited' as const, retryAt };
      if (!(await issueOtp(tx, issue, maxAttempts))) return { refused: 'locked' as const };
      await countRequest(tx, counter, now);
      return { refused: null };
    });
    if (outcome.refused === 'locked')
      throw new GatewayError('FORBIDDEN', locked().message, { otpRequired: true, reason: 'locked' });
    if (outcome.refused === 'limited') {
      // RFC 9110 §10.2.3: delay-seconds until the oldest request that counts leaves the window.
      const retryAfter = Math.max(1, Math.ceil((outcome.retryAt - now) / 1000));
      const minutes = Math.round(requestWindowMs / 60_000);
      throw new GatewayError(
        'RATE_LIMITED',
        `Too many codes requested: at most ${requestLimit} in ${minutes} minutes for this request. Use the last code sent, or retry in ${retryAfter} seconds.`,
        { limit: requestLimit, retryAfterSeconds: retryAfter },
        { headers: { 'Retry-After': String(retryAfter) } },
      );
    }

    const transaction = await getTransaction(deps.db.reader, input.workspaceId, approval.transactionId);
    const business = transaction?.businessId
      ? await getBusiness(deps.db.reader, transaction.businessId)
      : undefined;
    const what = transaction
      ? `${formatAmount(transaction.amount, transaction.currency)}${transaction.businessId ? ` at ${business?.name ?? transaction.businessId}` : ' (an evaluation)'}, requested by agent ${transaction.agentId}`
      : `approval ${approval.id}`;
    try {
      await mailer.send({
        to: input.member.email,
        subject: `Your Warden approval code: ${code}`,
        text: [
          `Your one-time code is ${code}`,
          '',
          `It confirms your approval of: ${what}.`,
          `It is valid until ${formatTime(expiresAt)} and can be tried ${maxAttempts} times in all.`,
          '',
          'If you did not ask for it, do not use it, and tell your workspace admin.',
        ].join('\n'),
      });
    } catch (error) {
      deps.logger.error({ err: error, approvalId: approval.id }, 'one-time code email failed');
      throw new GatewayError('SERVICE_UNAVAILABLE', 'The code could not be emailed; try again shortly.');
    }
    const ctx = {
      deps,
      workspaceId: input.workspaceId,
      actor: { type: 'member' as const, id: input.member.memberId },
    };
    const audit = auditEvent(ctx, 'approval.otp_sent', approval.id, { position: stage.position }, now);
    await deps.db.transaction({ workspaceId: input.workspaceId }, (tx) => appendAudit(tx, audit));
    return { expiresAt };
  }

  async function confirm(input: {
    workspaceId: string;
    approvalId: string;
    member: { memberId: string; role: Role };
    code?: string;
    position?: number;
  }): Promise<boolean> {
    const approval = await getApproval(deps.db.reader, input.workspaceId, input.approvalId);
    const stage = approval?.stages.find((s) => s.status === 'pending');
    if (approval?.status !== 'pending' || !stage) return false;
    if (input.position !== undefined && input.position !== stage.position) return false;
    if (stage.tier !== 'critical_otp' || stage.role !== input.member.role) return false;
    if (approval.votes.some((v) => v.memberId === input.member.memberId)) return false;
    const k: OtpKey = { approvalId: approval.id, position: stage.position, memberId: input.member.memberId };
    const result = input.code
      ? await check({
          workspaceId: input.workspaceId,
          approvalId: approval.id,
          memberId: input.member.memberId,
          code: input.code,
          position: stage.position,
        })
      : await missing(k);
    if (!result.ok) {
      throw new GatewayError('FORBIDDEN', result.message, {
        otpRequired: true,
        reason: result.reason,
        triesLeft: result.triesLeft,
      });
    }
    return true;
  }

  return {
    send,
    check,
    missing,
    confirm,
    async verify(input) {
      return (await check(input)).ok;
    },
  };
}

/**
 * When a sliding window of `limit` requests per `windowMs` admits the next one: undefined when it
 * does now, else when enough of the oldest requests in `recent` (oldest first) have left it.
 */
function retryAtOf(
  recent: { at: number; count: number }[],
  limit: number,
  windowMs: number,
): number | undefined {
  let excess = recent.reduce((sum, r) => sum + r.count, 0) - limit + 1;
  if (excess <= 0) return undefined;
  for (const r of recent) {
    excess -= r.count;
    if (excess <= 0) return r.at + windowMs;
  }
  return undefined;
}
