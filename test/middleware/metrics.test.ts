import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { metrics, routeLabel } from '../../gateway/middleware/metrics/index.ts';

describe('metrics middleware', () => {
  const seen: { method: string; route: string; status: number; seconds: number }[] = [];
  const app = new Hono();
  app.use(
    metrics({
      metrics: { http: (method, route, status, seconds) => seen.push({ method, route, status, seconds }) },
    }),
  );
  // An area guard that refuses before any handler runs, like member authentication on /v1/*.
  app.use('/v1/*', async function guard(c, next) {
    if (!c.req.header('Authorization')) return c.json({ code: 'UNAUTHORIZED' }, 401);
    await next();
  });
  app.get('/v1/items/summary', (c) => c.json({ summary: true }));
  app.get('/v1/items/:id', (c) => c.json({ id: c.req.param('id') }));
  app.post(
    '/v1/items',
    async function check(c, next) {
      if (c.req.header('X-Fail')) return c.json({ code: 'VALIDATION_ERROR' }, 400);
      await next();
    },
    (c) => c.json({}, 201),
  );
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.onError((_err, c) => c.json({ code: 'INTERNAL_ERROR' }, 500));

  const last = () => seen[seen.length - 1];

  it('labels a request with the matched pattern, never the raw path', async () => {
    const res = await app.request('/v1/items/itm_123', { headers: { Authorization: 'Bearer x' } });
    expect(res.status).toBe(200);
    expect(last()).toMatchObject({ method: 'GET', route: '/v1/items/:id', status: 200 });
    expect(last()?.seconds).toBeGreaterThanOrEqual(0);
  });

  it('labels the route that answered when a later pattern matches the path too', async () => {
    await app.request('/v1/items/summary', { headers: { Authorization: 'Bearer x' } });
    expect(last()).toMatchObject({ method: 'GET', route: '/v1/items/summary', status: 200 });
    await app.request('/v1/items/summary');
    expect(last()).toMatchObject({ route: '/v1/items/summary', status: 401 });
  });

  it('keeps the pattern when a guard or a route-level check answers first, and on a thrown error', async () => {
    await app.request('/v1/items/itm_9');
    // The guard refused: no handler was reached for this path, yet its route still matched.
    expect(last()).toMatchObject({ route: '/v1/items/:id', status: 401 });
    await app.request('/v1/items', { method: 'POST', headers: { Authorization: 'Bearer x', 'X-Fail': '1' } });
    expect(last()).toMatchObject({ method: 'POST', route: '/v1/items', status: 400 });
    await app.request('/boom');
    expect(last()).toMatchObject({ route: '/boom', status: 500 });
  });

  it('labels a request no route matched as unmatched, even under a guarded area', async () => {
    await app.request('/nowhere/at/all');
    expect(last()).toMatchObject({ route: 'unmatched', status: 404 });
    await app.request('/v1/unknown', { headers: { Authorization: 'Bearer x' } });
    expect(last()).toMatchObject({ route: 'unmatched', status: 404 });
  });

  it('routeLabel reads the pattern inside a handler too', async () => {
    const tiny = new Hono();
    tiny.get('/agp/status/:transactionId', (c) => c.text(routeLabel(c)));
    expect(await (await tiny.request('/agp/status/txn_1')).text()).toBe('/agp/status/:transactionId');
  });
});
