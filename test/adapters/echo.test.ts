import { describe, expect, it } from 'vitest';
import { createEchoAdapter, ECHO_CATALOG } from '../../adapters/echo/index.ts';

const ctx = { businessId: 'echo', transactionId: 'txn_1' };

function dataOf(result: { data?: unknown }): Record<string, unknown> {
  expect(typeof result.data).toBe('object');
  return result.data as Record<string, unknown>;
}

describe('echo adapter', () => {
  it('discover returns the catalog', async () => {
    const result = await createEchoAdapter({ businessId: 'echo' }).discover(ctx);
    expect(result.status).toBe('succeeded');
    const catalog = dataOf(result).catalog as Array<Record<string, unknown>>;
    expect(catalog.length).toBeGreaterThanOrEqual(3);
    for (const item of catalog) {
      expect(item).toMatchObject({
        sku: expect.any(String),
        name: expect.any(String),
        price_cents: expect.any(Number),
      });
    }
  });

  it('query prices one sku, or the whole catalog; an unknown sku fails', async () => {
    const echo = createEchoAdapter({ businessId: 'echo' });
    const first = ECHO_CATALOG[0];
    expect(first).toBeDefined();
    const one = await echo.query({ sku: first?.sku }, ctx);
    expect(one).toEqual({ status: 'succeeded', data: { prices: [first] } });
    const all = await echo.query({}, ctx);
    expect((dataOf(all).prices as unknown[]).length).toBe(ECHO_CATALOG.length);
    expect(await echo.query({ sku: 'nope' }, ctx)).toEqual({
      status: 'failed',
      data: { error: 'Unknown sku: nope' },
    });
  });

  it('execute places an order that echoes the request', async () => {
    const echo = createEchoAdapter({ businessId: 'echo' });
    const result = await echo.execute({ sku: 'espresso-cup', quantity: 3, note: 'gift' }, {}, ctx);
    expect(result.status).toBe('succeeded');
    expect(dataOf(result)).toMatchObject({
      orderId: expect.stringMatching(/^ord_/),
      sku: 'espresso-cup',
      quantity: 3,
      amount_cents: 2700,
      note: 'gift',
    });
  });

  it('the declared amount wins over the catalog price; a sku-less order is accepted', async () => {
    const echo = createEchoAdapter({ businessId: 'echo' });
    expect(dataOf(await echo.execute({ sku: 'sticker', amount_cents: 75 }, {}, ctx)).amount_cents).toBe(75);
    expect(dataOf(await echo.execute({ amount: '40' }, {}, ctx)).amount_cents).toBe(40);
  });

  it('the same idempotency key answers the same order', async () => {
    const echo = createEchoAdapter({ businessId: 'echo' });
    const a = await echo.execute({ sku: 'sticker' }, { idempotencyKey: 'k1' }, ctx);
    const b = await echo.execute({ sku: 'sticker' }, { idempotencyKey: 'k1' }, ctx);
    const c = await echo.execute({ sku: 'sticker' }, { idempotencyKey: 'k2' }, ctx);
    expect(dataOf(b).orderId).toBe(dataOf(a).orderId);
    expect(dataOf(c).orderId).not.toBe(dataOf(a).orderId);
  });

  it('simulates a failure', async () => {
    const echo = createEchoAdapter({ businessId: 'echo' });
    expect(await echo.execute({ sku: 'sticker', simulate: 'failure' }, {}, ctx)).toEqual({
      status: 'failed',
      data: { error: 'Simulated failure' },
    });
  });

  it('adapter-level confirmation: pending, then the repeat with the token succeeds once', async () => {
    const echo = createEchoAdapter({ businessId: 'echo' });
    const request = { sku: 'grinder', quantity: 1, amount_cents: 12900, requireConfirmation: true };
    const pending = await echo.execute(request, {}, ctx);
    expect(pending.status).toBe('pending_confirmation');
    const { confirmationToken, summary } = dataOf(pending);
    expect(confirmationToken).toEqual(expect.any(String));
    expect(summary).toContain('Burr grinder');

    const confirmed = await echo.execute({ ...request, confirmationToken }, {}, ctx);
    expect(confirmed.status).toBe('succeeded');
    expect(dataOf(confirmed)).toMatchObject({ sku: 'grinder', amount_cents: 12900 });

    const reused = await echo.execute({ ...request, confirmationToken }, {}, ctx);
    expect(reused.status).toBe('failed');
  });

  it('refuses an unknown, mismatched or expired confirmation token', async () => {
    let clock = 1_000_000;
    const echo = createEchoAdapter({ businessId: 'echo', confirmationTtlMs: 1_000, now: () => clock });
    expect((await echo.execute({ sku: 'sticker', confirmationToken: 'ect_forged' }, {}, ctx)).status).toBe(
      'failed',
    );

    const issue = async () =>
      dataOf(await echo.execute({ sku: 'sticker', requireConfirmation: true }, {}, ctx)).confirmationToken;
    const token = await issue();
    const mismatch = await echo.execute({ sku: 'grinder', confirmationToken: token }, {}, ctx);
    expect(mismatch).toEqual({
      status: 'failed',
      data: { error: 'Confirmation token does not match this request' },
    });

    const late = await issue();
    clock += 1_001;
    expect((await echo.execute({ sku: 'sticker', confirmationToken: late }, {}, ctx)).status).toBe('failed');
  });

  it('describe gives a summary and the amount from amount_cents or amount', () => {
    const echo = createEchoAdapter({ businessId: 'echo' });
    const describe = echo.describe;
    expect(describe).toBeDefined();
    if (!describe) return;
    expect(describe({ sku: 'espresso-cup', quantity: 2, amount_cents: 1800 })).toEqual({
      summary: 'echo: 2 × Espresso cup for 18.00 USD',
      amount: 1800,
      currency: 'USD',
    });
    expect(describe({ amount: '250' }).amount).toBe(250);
    expect(describe({ sku: 'sticker' })).toEqual({ summary: 'echo: 1 × Warden sticker' });
  });
});
