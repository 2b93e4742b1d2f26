import { describe, expect, it } from 'vitest';
import { AdapterError } from '../../adapters/types.ts';
import { callAdapter } from '../../gateway/services/adapter-call.ts';
import {
  ADMITTED,
  type BreakerOptions,
  Breakers,
  isBreakerFailure,
  REJECTED,
  TRIAL,
} from '../../gateway/services/breaker.ts';
import { Bulkheads } from '../../gateway/services/bulkhead.ts';

function breakers(options: Partial<BreakerOptions> = {}) {
  const now = { value: 1_000_000 };
  const events: string[] = [];
  const b = new Breakers({
    failures: 3,
    windowMs: 10_000,
    cooldownMs: 5_000,
    trialLeaseMs: 20_000,
    clock: () => now.value,
    metrics: {
      breakerOpen: (business, open) => events.push(`${business} ${open ? 'open' : 'closed'}`),
      breakerRejection: (business) => events.push(`${business} rejected`),
    },
    ...options,
  });
  return { b, now, events };
}

/** What callAdapter consults: the breaker under test, and no concurrency cap (0 below). */
const guarded = (b: Breakers) => ({
  breakers: b,
  bulkheads: new Bulkheads({ queueTimeoutMs: 0, metrics: { adapterQueueRejection: () => undefined } }),
});

/** Fails `n` admitted calls to `business`. */
function fail(b: Breakers, business: string, n: number) {
  for (let i = 0; i < n; i++) b.record(business, b.admit(business), true);
}

describe('Breakers', () => {
  it('opens after N consecutive failures and refuses until the cool-down ends', () => {
    const { b, now, events } = breakers();
    fail(b, 'shop', 2);
    expect(b.view('shop')).toEqual({ state: 'closed', failures: 2, openUntil: null });
    expect(b.admit('shop')).toBe(ADMITTED);
    fail(b, 'shop', 1);
    expect(b.view('shop')).toMatchObject({ state: 'open', failures: 3 });
    expect(b.admit('shop')).toBe(REJECTED);
    expect(b.retryAfterSeconds('shop')).toBe(5);
    now.value += 3_100;
    expect(b.retryAfterSeconds('shop')).toBe(2);
    expect(events).toEqual(['shop open', 'shop rejected']);
    expect(b.admit('other')).toBe(ADMITTED);
  });

  it('a success resets the count; failures further apart than the window do not add up', () => {
    const { b, now } = breakers();
    fail(b, 'shop', 2);
    b.record('shop', b.admit('shop'), false);
    fail(b, 'shop', 2);
    expect(b.view('shop').state).toBe('closed');
    now.value += 10_001;
    fail(b, 'shop', 2);
    expect(b.view('shop')).toMatchObject({ state: 'closed', failures: 2 });
    fail(b, 'shop', 1);
    expect(b.view('shop').state).toBe('open');
  });

  it('after the cool-down exactly one trial goes through; its success closes the breaker', () => {
    const { b, now, events } = breakers();
    fail(b, 'shop', 3);
    now.value += 5_000;
    expect(b.view('shop').state).toBe('half_open');
    expect(b.admit('shop')).toBe(TRIAL);
    expect(b.admit('shop')).toBe(REJECTED);
    expect(b.admit('shop')).toBe(REJECTED);
    expect(b.retryAfterSeconds('shop')).toBe(1);
    // A late success of a call admitted before the breaker opened decides nothing.
    b.record('shop', ADMITTED, false);
    expect(b.view('shop').state).toBe('half_open');
    b.record('shop', TRIAL, false);
    expect(b.view('shop')).toEqual({ state: 'closed', failures: 0, openUntil: null });
    expect(b.admit('shop')).toBe(ADMITTED);
    expect(events).toEqual(['shop open', 'shop rejected', 'shop rejected', 'shop closed']);
  });

  it('a failed trial re-opens it for another cool-down', () => {
    const { b, now } = breakers();
    fail(b, 'shop', 3);
    now.value += 5_000;
    b.record('shop', b.admit('shop'), true);
    expect(b.view('shop')).toMatchObject({
      state: 'open',
      failures: 4,
      openUntil: new Date(now.value + 5_000).toISOString(),
    });
    expect(b.admit('shop')).toBe(REJECTED);
    now.value += 5_000;
    expect(b.admit('shop')).toBe(TRIAL);
  });

  it('a trial that never reports is taken as lost after its lease', () => {
    const { b, now } = breakers();
    fail(b, 'shop', 3);
    now.value += 5_000;
    expect(b.admit('shop')).toBe(TRIAL);
    now.value += 19_999;
    expect(b.admit('shop')).toBe(REJECTED);
    now.value += 1;
    expect(b.admit('shop')).toBe(TRIAL);
  });

  it('failures of calls admitted before it opened do not extend the cool-down', () => {
    const { b, now } = breakers();
    const inFlight = [b.admit('shop'), b.admit('shop'), b.admit('shop'), b.admit('shop')];
    for (const a of inFlight.slice(0, 3)) b.record('shop', a, true);
    const until = b.view('shop').openUntil;
    now.value += 1_000;
    b.record('shop', inFlight[3] ?? ADMITTED, true);
    expect(b.view('shop')).toMatchObject({ state: 'open', failures: 3, openUntil: until });
  });

  it('BREAKER_FAILURES=0 turns it off', () => {
    const { b } = breakers({ failures: 0 });
    fail(b, 'shop', 100);
    expect(b.admit('shop')).toBe(ADMITTED);
    expect(b.view('shop').state).toBe('closed');
  });
});

describe('isBreakerFailure', () => {
  it('counts timeouts and failures before sending, never an HTTP answer or a lost connection', () => {
    const refused = new AdapterError('ADAPTER_ERROR', 'refused', undefined, { mayHaveActed: false });
    const connectTimeout = new AdapterError('ADAPTER_TIMEOUT', 't', undefined, { mayHaveActed: false });
    const answerTimeout = new AdapterError('ADAPTER_TIMEOUT', 't', undefined, { mayHaveActed: true });
    const lost = new AdapterError('ADAPTER_ERROR', 'reset', undefined, { mayHaveActed: true });
    const answered = new AdapterError('ADAPTER_ERROR', 'Upstream answered 503.', 503);
    expect([refused, connectTimeout, answerTimeout].map(isBreakerFailure)).toEqual([true, true, true]);
    expect([lost, answered, new Error('module bug')].map(isBreakerFailure)).toEqual([false, false, false]);
  });
});

describe('callAdapter with an open breaker', () => {
  it('fails fast with 503 ADAPTER_UNAVAILABLE and Retry-After, without calling the adapter', async () => {
    const { b, now } = breakers();
    fail(b, 'shop', 3);
    now.value += 1_500;
    let called = 0;
    const outcome = await callAdapter(
      guarded(b),
      'shop',
      async () => {
        called += 1;
        return { status: 'succeeded' };
      },
      0,
    );
    expect(called).toBe(0);
    expect(outcome).toMatchObject({
      ok: false,
      mayHaveActed: false,
      upstreamMs: 0,
      recorded: { code: 'ADAPTER_UNAVAILABLE' },
    });
    if (outcome.ok) throw new Error('unreachable');
    expect(outcome.error.status).toBe(503);
    expect(outcome.error.headers).toEqual({ 'Retry-After': '4' });
  });

  it('answers in well under 5 ms (the median of 200 warm calls)', async () => {
    const { b } = breakers();
    fail(b, 'shop', 3);
    const never = async () => ({ status: 'succeeded' as const });
    const guards = guarded(b);
    const timings: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await callAdapter(guards, 'shop', never, 0);
      timings.push(performance.now() - started);
    }
    timings.sort((x, y) => x - y);
    expect(timings[100]).toBeLessThan(5);
  });

  it('records what the adapter did: a refusal counts, an HTTP answer resets', async () => {
    const { b } = breakers();
    const refused = async () => {
      throw new AdapterError('ADAPTER_ERROR', 'refused', undefined, { mayHaveActed: false });
    };
    const answered = async () => {
      throw new AdapterError('ADAPTER_ERROR', 'Upstream answered 500.', 500);
    };
    await callAdapter(guarded(b), 'shop', refused, 0);
    await callAdapter(guarded(b), 'shop', refused, 0);
    await callAdapter(guarded(b), 'shop', answered, 0);
    expect(b.view('shop').failures).toBe(0);
    for (let i = 0; i < 3; i++) await callAdapter(guarded(b), 'shop', refused, 0);
    expect(b.view('shop').state).toBe('open');
  });
});
