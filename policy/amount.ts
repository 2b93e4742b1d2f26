/**
 * The amount of a request in minor units (DESIGN §4): `request.amount_cents`, else `request.amount`,
 * a number or a numeric string. Anything else (absent, fractional, negative, not a number) is null.
 */
export function normaliseAmount(request: Record<string, unknown>): number | null {
  const raw = request.amount_cents ?? request.amount;
  const value = typeof raw === 'string' && /^\s*\d+(\.0+)?\s*$/.test(raw) ? Number(raw) : raw;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** The request's ISO 4217 currency, upper-cased, else `fallback`. */
export function requestCurrency(request: Record<string, unknown>, fallback: string): string {
  const raw = request.currency;
  return typeof raw === 'string' && /^[A-Za-z]{3}$/.test(raw) ? raw.toUpperCase() : fallback;
}
