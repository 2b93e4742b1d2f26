import type { Decision } from '../../../policy/index.ts';
import { GatewayError, type StoredResponse } from '../../domain/index.ts';

/**
 * The answers an execute gives other than the business's own, built in one place: the error handler
 * sends a refusal, and an idempotent replay returns the very same status and body (DESIGN §4).
 */

/** An amount the policy cannot read would pass every limit: it is refused instead (`path` names it). */
export function invalidAmount(path: string): GatewayError {
  return new GatewayError(
    'VALIDATION_ERROR',
    'The request amount must be a whole number of minor units (cents).',
    [{ path, message: 'expected a non-negative integer, or a string of digits' }],
  );
}

/** A policy refusal (DESIGN §4): 403 POLICY_REJECTED with the rule that refused and every check. */
export function rejection(decision: Decision, transactionId: string): GatewayError {
  return new GatewayError('POLICY_REJECTED', decision.reason ?? 'Refused by the workspace policy.', {
    ruleId: decision.ruleId ?? null,
    reason: decision.reason ?? null,
    checks: decision.checks,
    transactionId,
  });
}

/** The 202 of a parked request: the approval with its stages, the first one active. */
export function parkedAnswer(
  decision: Decision,
  transactionId: string,
  approvalId: string,
  now: number,
): StoredResponse {
  const stages = decision.stages ?? [];
  const first = stages[0];
  return {
    status: 202,
    body: {
      transactionId,
      status: 'pending_approval',
      approval: {
        id: approvalId,
        stages: stages.map((stage, i) => ({
          index: stage.index,
          role: stage.role,
          tier: stage.tier,
          status: i === 0 ? 'pending' : 'waiting',
        })),
        expiresAt: first ? new Date(now + first.timeoutSeconds * 1000).toISOString() : null,
      },
    },
  };
}

/** The 202 of a request a time window queued, with when it will be released. */
export function queuedAnswer(transactionId: string, releaseAt: number): StoredResponse {
  return {
    status: 202,
    body: { transactionId, status: 'queued', releaseAt: new Date(releaseAt).toISOString() },
  };
}

/** The 200 of an execute the adapter ran (DESIGN §4). */
export function executedAnswer(transactionId: string, status: string, data: unknown): StoredResponse {
  return { status: 200, body: { transactionId, status, data } };
}

/** Attaches the transaction id (and what else the agent should know) to an adapter failure. */
export function attachTransactionId(
  error: GatewayError,
  transactionId: string,
  extra: Record<string, unknown> = {},
): GatewayError {
  const details = { ...(error.details as Record<string, unknown> | undefined), transactionId, ...extra };
  return new GatewayError(error.code, error.message, details, {
    cause: error.cause,
    headers: error.headers, // Retry-After of an open circuit breaker
  });
}
