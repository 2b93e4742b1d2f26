import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { callAdapter } from '../../gateway/services/adapter-call.ts';
import { Breakers, TRIAL } from '../../gateway/services/breaker.ts';
import { Bulkheads } from '../../gateway/services/bulkhead.ts';

function bulkheads(queueTimeoutMs = 1_000) {
  const rejected: string[] = [];
  const b = new Bulkheads({
    queueTimeoutMs,
    metrics: { adapterQueueRejection: (business) => rejected.push(business) },
  });
  return { b, rejected };
}

describe('Bulkheads', () => {
  it('takes slots synchronously up to the cap, per business', () => {
    const { b } = bulkheads();
    expect([1, 2, 3].map(() => b.tryAcquire('shop', 2))).toEqual([true, true, false]);
    expect(b.tryAcquire('other', 2)).toBe(true);
    expect(b.view('shop')).toEqual({ active: 2, waiting: 0 });
    b.release('shop');
    expect(b.tryAcquire('shop', 2)).toBe(true);
  });

  it('hands a released slot to the first waiter, in arrival order', async () => {
    const { b } = bulkheads();
    b.tryAcquire('shop', 1);
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) =>
      b.wait('shop').then((ok) => {
        order.push(n);
        return ok;
      }),
    );
    expect(b.view('shop')).toEqual({ active: 1, waiting: 3 });
    b.release('shop');
    await waits[0];
    // The slot moved to the waiter: still one in flight, and a newcomer cannot jump the queue.
    expect(b.view('shop')).toEqual({ active: 1, waiting: 2 });
    expect(b.tryAcquire('shop', 1)).toBe(false);
    b.release('shop');
    b.release('shop');
    expect(await Promise.all(waits)).toEqual([true, true, true]);
    expect(order).toEqual([1, 2, 3]);
  });

  it('refuses a waiter once the queue timeout passes, and counts it', async () => {
    const { b, rejected } = bulkheads(50);
    b.tryAcquire('shop', 1);
    const started = performance.now();
    expect(await b.wait('shop')).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(b.view('shop')).toEqual({ active: 1, waiting: 0 });
    expect(rejected).toEqual(['shop']);
    expect(b.retryAfterSeconds()).toBe(1);
    // A release after the refusal frees the slot for the next caller, not for the one refused.
    b.release('shop');
    expect(b.view('shop')).toEqual({ active: 0, waiting: 0 });
  });

  it('with no queue (ADAPTER_QUEUE_TIMEOUT_MS=0) a full business refuses at once', async () => {
    const { b, rejected } = bulkheads(0);
    b.tryAcquire('shop', 1);
    expect(await b.wait('shop')).toBe(false);
    expect(rejected).toEqual(['shop']);
  });

  it('a raised cap lets waiters in as slots are released', async () => {
    const { b } = bulkheads();
    b.tryAcquire('shop', 1);
    const waits = [b.wait('shop'), b.wait('shop')];
    // The business raised its cap: the next call takes a free slot, and a release admits both waiters.
    expect(b.tryAcquire('shop', 4)).toBe(true);
    b.release('shop');
    expect(await Promise.all(waits)).toEqual([true, true]);
    expect(b.view('shop')).toEqual({ active: 3, waiting: 0 });
  });
});

describe('callAdapter under a concurrency cap', () => {
  const breakers = (clock = () => 0) =>
    new Breakers({
      failures: 1,
      windowMs: 10_000,
      cooldownMs: 1_000,
      trialLeaseMs: 60_000,
      clock,
      metrics: { breakerOpen: () => undefined, breakerRejection: () => undefined },
    });

  it('runs at most the cap at once; one past the queue timeout is refused, never called', async () => {
    const { b } = bulkheads(100);
    const guards = { breakers: breakers(), bulkheads: b };
    let running = 0;
    let most = 0;
    let calls = 0;
    const slow = (ms: number) => async () => {
      calls += 1;
      running += 1;
      most = Math.max(most, running);
      await sleep(ms);
      running -= 1;
      return { status: 'succeeded' as const };
    };
    // Two slots; 2 × 30 ms calls in front of the others: the third and fourth wait 30 ms, then run.
    const quick = await Promise.all([1, 2, 3, 4].map(() => callAdapter(guards, 'shop', slow(30), 2)));
    expect(quick.map((o) => o.ok)).toEqual([true, true, true, true]);
    expect(most).toBe(2);

    // Held longer than the queue timeout: the third is refused without being called.
    calls = 0;
    const held = await Promise.all([1, 2, 3].map(() => callAdapter(guards, 'shop', slow(300), 2)));
    expect(held.map((o) => o.ok)).toEqual([true, true, false]);
    expect(calls).toBe(2);
    const refused = held[2];
    if (!refused || refused.ok) throw new Error('unreachable');
    expect(refused).toMatchObject({
      mayHaveActed: false,
      upstreamMs: 0,
      recorded: { code: 'ADAPTER_UNAVAILABLE' },
    });
    expect(refused.error.status).toBe(503);
    expect(refused.error.headers).toEqual({ 'Retry-After': '1' });
    expect(b.view('shop')).toEqual({ active: 0, waiting: 0 });
  });

  it('a breaker trial refused by the cap is given up: the next call is the trial', async () => {
    const { b } = bulkheads(0);
    const now = { value: 0 };
    const breaker = breakers(() => now.value);
    breaker.record('shop', breaker.admit('shop'), true); // open for 1 s
    b.tryAcquire('shop', 1); // the one slot: a call admitted before the breaker opened, still running
    now.value = 1_000; // the cool-down is over: the next call is the trial
    const guards = { breakers: breaker, bulkheads: b };
    const outcome = await callAdapter(guards, 'shop', async () => ({ status: 'succeeded' }), 1);
    expect(outcome).toMatchObject({ ok: false, recorded: { code: 'ADAPTER_UNAVAILABLE' } });
    // Without `abandon` the lost trial would keep the breaker half-open for the whole lease.
    expect(breaker.admit('shop')).toBe(TRIAL);
  });
});
