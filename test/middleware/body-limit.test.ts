import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../gateway/domain/index.ts';
import { bodyLimit } from '../../gateway/middleware/body-limit/index.ts';

describe('bodyLimit', () => {
  const app = new Hono();
  app.use(bodyLimit({ maxBytes: 10 }));
  app.post('/', async (c) => c.text(`read ${(await c.req.text()).length}`));
  app.get('/', (c) => c.text('get'));
  app.onError((err, c) =>
    err instanceof GatewayError ? c.json({ code: err.code }, err.status) : c.text('boom', 500),
  );

  it('lets a body within the limit through, to be read once by the handler', async () => {
    const res = await app.request('/', { method: 'POST', body: '0123456789' });
    expect(await res.text()).toBe('read 10');
  });

  it('refuses a declared length over the limit with 413 before reading anything', async () => {
    const res = await app.request('/', { method: 'POST', body: '01234567890' });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('counts a chunked body as it streams', async () => {
    const chunks = ['01234', '56789', 'x'];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await app.request('/', { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('leaves GET alone', async () => {
    expect(await (await app.request('/')).text()).toBe('get');
  });
});
