import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { type RequestIdVariables, requestId } from '../../gateway/middleware/request-id/index.ts';

describe('requestId', () => {
  const app = new Hono<{ Variables: RequestIdVariables }>();
  app.use(requestId({ generate: () => 'req_generated' }));
  app.get('/', (c) => c.text(c.get('requestId')));

  it('keeps a safe incoming id and echoes it', async () => {
    const res = await app.request('/', { headers: { 'X-Request-Id': 'abc-123' } });
    expect(res.headers.get('X-Request-Id')).toBe('abc-123');
    expect(await res.text()).toBe('abc-123');
  });

  it('replaces an unsafe or oversized id', async () => {
    for (const bad of ['has space', 'x'.repeat(129), '<script>']) {
      const res = await app.request('/', { headers: { 'X-Request-Id': bad } });
      expect(res.headers.get('X-Request-Id')).toBe('req_generated');
    }
  });
});
