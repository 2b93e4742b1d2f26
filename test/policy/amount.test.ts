import { describe, expect, it } from 'vitest';
import { hasInvalidAmount, normaliseAmount, requestCurrency } from '../../policy/index.ts';

describe('normaliseAmount', () => {
  it('reads amount_cents, else amount, as integer minor units', () => {
    expect(normaliseAmount({ amount_cents: 250 })).toBe(250);
    expect(normaliseAmount({ amount: 99 })).toBe(99);
    expect(normaliseAmount({ amount_cents: 1, amount: 2 })).toBe(1);
    expect(normaliseAmount({ amount_cents: null, amount: 2 })).toBe(2);
    expect(normaliseAmount({ amount: '150' })).toBe(150);
    expect(normaliseAmount({ amount: ' 150.00 ' })).toBe(150);
    expect(normaliseAmount({ amount: 0 })).toBe(0);
  });

  it('is null when absent or unreadable, and hasInvalidAmount tells the two apart', () => {
    for (const bad of [
      -1,
      1.5,
      '1.5',
      '-3',
      '1e3',
      'abc',
      '',
      true,
      [1],
      { v: 1 },
      Number.MAX_SAFE_INTEGER + 1,
      '99999999999999999',
    ]) {
      expect(normaliseAmount({ amount: bad }), String(bad)).toBeNull();
      expect(hasInvalidAmount({ amount: bad }), String(bad)).toBe(true);
    }
    expect(normaliseAmount({})).toBeNull();
    expect(hasInvalidAmount({})).toBe(false);
    expect(hasInvalidAmount({ amount: 5 })).toBe(false);
    // An invalid amount_cents does not fall back to amount.
    expect(normaliseAmount({ amount_cents: 'x', amount: 5 })).toBeNull();
    expect(hasInvalidAmount({ amount_cents: 'x', amount: 5 })).toBe(true);
  });
});

describe('requestCurrency', () => {
  it('upper-cases a 3-letter code and falls back otherwise', () => {
    expect(requestCurrency({ currency: 'eur' }, 'USD')).toBe('EUR');
    expect(requestCurrency({}, 'USD')).toBe('USD');
    expect(requestCurrency({ currency: 'euro' }, 'GBP')).toBe('GBP');
    expect(requestCurrency({ currency: 12 }, 'GBP')).toBe('GBP');
  });
});
