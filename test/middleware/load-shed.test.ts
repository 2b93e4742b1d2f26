import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../gateway/domain/index.ts';
import { loadShed } from '../../gateway/middleware/load-shed/index.ts';

describe('loadShed', () => {
  /** A tiny app whose /work requests stay in progress until `release()`. */
  function app(maxInFlight: number) {
    const held: (() => void)[] = [];
    const a = new Hono();
    a.use(loadShed({ maxInFlight }));
    a.get('/work', async (c) => {
      await new Promise<void>((resolve) => held.push(resolve));
      return c.text('done');
    });
    a.get('/health', (c) => c.text('ok'));
    a.get('/ready', (c) => c.text('ready'));
    a.get('/fail', () => {
      throw new Error('boom');
    });
    a.onError((err, c) =>
      err instanceof GatewayError
        ? c.json({ code: err.code, details: err.details }, err.status, err.headers)
        : c.text('boom', 500),
    );
    const release = () => {
      for (const resolve of held.splice(0)) resolve();
    };
    const waitHeld = async (n: number) => {
      while (held.length < n) await new Promise((r) => setTimeout(r, 1));
    };
    return { a, release, waitHeld };
  }

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After past the cap, before any work', async () => {
    const { a, release, waitHeld } = app(2);
    const first = [a.request('/work'), a.request('/work')];
    await waitHeld(2);
    const shed = await a.request('/work');
    expect(shed.status).toBe(503);
    expect(shed.headers.get('Retry-After')).toBe('1');
    expect(await shed.json()).toEqual({ code: 'SERVICE_UNAVAILABLE', details: { maxInFlight: 2 } });
    release();
    for (const res of await Promise.all(first)) expect(await res.text()).toBe('done');
    // Freed: the next one is served.
    const again = a.request('/work');
    await waitHeld(1);
    release();
    expect((await again).status).toBe(200);
  });

  it('keeps answering /health and /ready when full', async () => {
    const { a, release, waitHeld } = app(1);
    const busy = a.request('/work');
    await waitHeld(1);
    expect(await (await a.request('/health')).text()).toBe('ok');
    expect(await (await a.request('/ready')).text()).toBe('ready');
    release();
    await busy;
  });

  it('gives the slot back when the handler throws', async () => {
    const { a } = app(1);
    expect((await a.request('/fail')).status).toBe(500);
    expect((await a.request('/health')).status).toBe(200);
    expect((await a.request('/fail')).status).toBe(500); // not 503: the failed request left
  });

  it('0 turns it off', async () => {
    const { a, release, waitHeld } = app(0);
    const many = Array.from({ length: 50 }, () => a.request('/work'));
    await waitHeld(50);
    release();
    for (const res of await Promise.all(many)) expect(res.status).toBe(200);
  });
});
