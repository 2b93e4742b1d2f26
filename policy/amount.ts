/**
 * The amount and currency of an execute request (DESIGN §4 strict mode, §6 spending limits):
 * `request.amount_cents`, else `request.amount`, a number or a numeric string in integer minor units.
 */

/** Digits, optionally `.0…` and surrounding spaces (`"2500"`, `" 2500.00 "`), as the gateway always read them. */
const NUMERIC = /^\s*\d{1,16}(\.0+)?\s*$/;

type Parsed = { kind: 'absent' } | { kind: 'ok'; cents: number } | { kind: 'invalid' };

function parse(request: Record<string, unknown>): Parsed {
  let raw = request.amount_cents;
  if (raw === undefined || raw === null) raw = request.amount;
  if (raw === undefined || raw === null) return { kind: 'absent' };
  if (typeof raw === 'number') {
    return Number.isSafeInteger(raw) && raw >= 0 ? { kind: 'ok', cents: raw } : { kind: 'invalid' };
  }
  if (typeof raw === 'string' && NUMERIC.test(raw)) {
    const cents = Number(raw);
    if (Number.isSafeInteger(cents)) return { kind: 'ok', cents };
  }
  return { kind: 'invalid' };
}

/**
 * The request amount in minor units, or `null` when there is none or it is not a non-negative integer
 * (a number, or a string of decimal digits such as `"2500"` or `"2500.00"`; `"25.50"`, `-5`, `1.5`, `"1e3"` are not).
 * `amount_cents` wins over `amount` whenever it is present, even if it is invalid.
 */
export function normaliseAmount(request: Record<string, unknown>): number | null {
  const parsed = parse(request);
  return parsed.kind === 'ok' ? parsed.cents : null;
}

/**
 * True when the request carries an amount that `normaliseAmount` cannot read. Spending limits pass an
 * unknown amount (DESIGN §6 leaves it uncounted), so callers that must not let an unreadable amount
 * through should refuse such requests up front.
 */
export function hasInvalidAmount(request: Record<string, unknown>): boolean {
  return parse(request).kind === 'invalid';
}

/** Where the amount is read from, for an error naming it: `request.amount_cents`, else `request.amount`. */
export function amountPath(request: Record<string, unknown>): string {
  const cents = request.amount_cents;
  return cents === undefined || cents === null ? 'request.amount' : 'request.amount_cents';
}

/** `request.currency` upper-cased when it is a 3-letter code, else `fallback` (the policy currency). */
export function requestCurrency(request: Record<string, unknown>, fallback: string): string {
  const value = request.currency;
  return typeof value === 'string' && /^[A-Za-z]{3}$/.test(value) ? value.toUpperCase() : fallback;
}
