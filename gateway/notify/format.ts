import type { Transaction } from '../domain/index.ts';

/** "USD 12.50" from integer minor units, with the currency's own number of decimals. */
export function formatAmount(amount: number | null, currency: string | null): string {
  if (amount === null) return 'no amount';
  const code = (currency ?? 'USD').toUpperCase();
  const digits = fractionDigits(code);
  return `${code} ${(amount / 10 ** digits).toFixed(digits)}`;
}

/** Minor-unit digits per currency code, looked up once: a new Intl.NumberFormat costs ~40 µs. */
const DIGITS = new Map<string, number>();
function fractionDigits(code: string): number {
  let digits = DIGITS.get(code);
  if (digits === undefined) {
    try {
      digits =
        new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
          .maximumFractionDigits ?? 2;
    } catch {
      // Not an ISO 4217 code: show two decimals.
      digits = 2;
    }
    // Codes come from requests: keep the map small whatever they send.
    if (DIGITS.size >= 1_000) DIGITS.clear();
    DIGITS.set(code, digits);
  }
  return digits;
}

/** "2026-11-24 12:00 UTC": unambiguous in an email and on the page. */
export function formatTime(ms: number | null): string {
  if (ms === null) return 'none';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export interface WhyApproval {
  /** The rule that asked, or the control when no rule did. */
  rule: string;
  reason: string;
  /** Every check that failed, as the policy engine explained it. */
  failed: string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Why this request needs people, from the decision stored on the transaction (DESIGN §6). */
export function whyApproval(transaction: Transaction): WhyApproval {
  const decision = isRecord(transaction.decision) ? transaction.decision : {};
  const checks = Array.isArray(decision.checks) ? decision.checks.filter(isRecord) : [];
  const failed = checks
    .filter((c) => c.result === 'fail')
    .map((c) => `${String(c.control)}${c.id ? ` ${String(c.id)}` : ''}: ${String(c.detail ?? '')}`);
  const ruleCheck = checks.find((c) => c.control === 'rule');
  const rule =
    typeof decision.ruleId === 'string'
      ? decision.ruleId
      : typeof ruleCheck?.id === 'string'
        ? ruleCheck.id
        : 'default action';
  const reason =
    typeof decision.reason === 'string'
      ? decision.reason
      : (failed[0] ??
        (typeof ruleCheck?.detail === 'string' ? ruleCheck.detail : 'The policy requires approval.'));
  return { rule, reason, failed };
}
