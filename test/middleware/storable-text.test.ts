import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../gateway/domain/index.ts';
import { storableText } from '../../gateway/middleware/storable-text/index.ts';

const NUL = 'a\u0000b';

function makeApp(options: Parameters<typeof storableText>[0] = {}) {
  const app = new Hono();
  app.use(storableText(options));
  app.get('/items/:itemId', (c) => c.json({ id: c.req.param('itemId'), q: c.req.query() }));
  app.get('/items/summary', (c) => c.text('summary'));
  app.post('/items', async (c) => c.json({ text: await c.req.text() }));
  app.post('/forms', async (c) => c.json(await c.req.parseBody()));
  app.post('/orders/:id', async (c) => c.json(await c.req.json()));
  app.onError((err, c) =>
    err instanceof GatewayError
      ? c.json({ code: err.code, details: err.details }, err.status)
      : c.json({ boom: String(err) }, 500),
  );
  return app;
}

const paths = async (res: Response) => {
  const body = (await res.json()) as { code: string; details: { path: string }[] };
  expect(res.status).toBe(400);
  expect(body.code).toBe('VALIDATION_ERROR');
  return body.details.map((d) => d.path);
};

describe('storableText', () => {
  const app = makeApp({
    storedAsJson: { 'POST /orders/:id': ['request', 'context.scope', '*.args.request'] },
  });
  const post = (path: string, body: string, type = 'application/json') =>
    app.request(path, { method: 'POST', headers: { 'Content-Type': type }, body });

  it('names the route parameter of a path segment holding a NUL', async () => {
    expect(await paths(await app.request('/items/x%00y'))).toEqual(['path.itemId']);
    // A segment no parameter names still says where.
    expect(await paths(await app.request('/it%00ems/x'))).toEqual(['path']);
    // Beside escapes that are not UTF-8, the router still decodes the NUL: so does the check.
    expect(await paths(await app.request('/items/x%00y%ED%A0%80'))).toEqual(['path.itemId']);
    expect(await paths(await app.request('/items/1?q=%00x%ED%A0%80'))).toEqual(['query.q']);
    // `%2500` is the text "%00", not a NUL: it goes through as the router decodes it.
    expect(await (await app.request('/items/x%2500y')).json()).toMatchObject({ id: 'x%00y' });
  });

  it('names each query parameter whose name or value holds a NUL', async () => {
    expect(await paths(await app.request('/items/1?actor=%00&ok=1&x%00=1&many=a&many=%00'))).toEqual([
      'query.actor',
      'query.x\u0000',
      'query.many',
    ]);
    // Percent-encoded UTF-8 of a surrogate is not valid UTF-8: kept as the text it is, like the router does.
    expect(await (await app.request('/items/1?q=%ED%A0%80')).json()).toMatchObject({ q: { q: '%ED%A0%80' } });
  });

  it('refuses a header value with a NUL or a lone surrogate (hosts whose parser lets them through)', async () => {
    // Headers cannot hold them (the WHATWG class refuses NUL, ByteStrings refuse surrogates): a
    // request from such a host is stood in for by one whose headers answer what it sent.
    const sent = new Headers({ 'idempotency-key': 'k' });
    const raw = new Request('http://x.test/items/1');
    Object.defineProperty(raw, 'headers', {
      value: {
        get: (name: string) => (name === 'idempotency-key' ? NUL : sent.get(name)),
        forEach: (fn: (value: string, name: string) => void) => {
          fn(NUL, 'idempotency-key');
          fn('\ud800', 'x-request-id');
          fn('fine', 'x-other');
        },
      },
    });
    expect(await paths(await app.request(raw))).toEqual(['header.idempotency-key', 'header.x-request-id']);
  });

  it('names each JSON string and key with a NUL or a lone surrogate, outside the stored subtrees', async () => {
    const body = JSON.stringify({
      agentId: NUL,
      rules: [{ reason: 'fine' }, { reason: NUL }],
      [NUL]: 1,
      surrogate: '\ud800',
      request: { note: NUL, [NUL]: NUL },
      context: { agent_id: NUL, scope: { note: NUL } },
      batch: [{ args: { request: { note: NUL } } }],
    });
    expect(await paths(await post('/orders/1', body))).toEqual([
      'body.agentId',
      'body.rules.1.reason',
      'body.a\u0000b',
      'body.surrogate',
      'body.context.agent_id',
      'body.batch.0.args.request.note',
    ]);
  });

  it('leaves the stored subtrees to the route, which reads the body as sent', async () => {
    const body = JSON.stringify({ request: { note: NUL, [NUL]: [NUL] }, context: { scope: { x: NUL } } });
    const res = await post('/orders/1', body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(body));
    // A batch: `*` is any index.
    const batch = JSON.stringify([{ args: { request: { note: NUL } } }]);
    expect((await post('/orders/1', batch)).status).toBe(200);
    // The same subtree on a route that does not store it as JSON is checked.
    expect(await paths(await post('/items', JSON.stringify({ request: { note: NUL } })))).toEqual([
      'body.request.note',
    ]);
  });

  it('takes what only looks like a NUL, and bodies that are not JSON, as they are', async () => {
    for (const body of [
      JSON.stringify({ note: '%00' }),
      JSON.stringify({ note: '\\u0000' }),
      JSON.stringify({ emoji: '\ud83d\ude00' }).replace('😀', '\\ud83d\\ude00'),
      '{"note":"\\u0000"', // not JSON: the route refuses it
    ]) {
      const res = await post('/items', body);
      expect(res.status, body).toBe(200);
      expect(await res.json()).toEqual({ text: body });
    }
  });

  it('leaves bodies nested deeper than any route reads to the route, without exhausting the stack', async () => {
    const shallow = `{"a":${'['.repeat(63)}"\\u0000"${']'.repeat(63)}}`;
    expect(await paths(await post('/items', shallow))).toEqual([`body.a${'.0'.repeat(63)}`]);
    // readJson refuses these (deeper than MAX_JSON_DEPTH) with its own message.
    const deep = `{"a":${'['.repeat(100_000)}"\\u0000"${']'.repeat(100_000)}}`;
    expect((await post('/items', deep)).status).toBe(200);
  });

  it('names the fields of a form (urlencoded or multipart); the route still reads it', async () => {
    expect(
      await paths(await post('/forms', 'agentId=a%00b&ok=1', 'application/x-www-form-urlencoded')),
    ).toEqual(['body.agentId']);
    const multipart = new FormData();
    multipart.set('url', `https://example.com/${NUL}`);
    multipart.set('ok', 'yes');
    const refused = await app.request('/forms', { method: 'POST', body: multipart });
    expect(await paths(refused)).toEqual(['body.url']);

    const fine = await post('/forms', 'agentId=a%01b&note=%25%30%30', 'application/x-www-form-urlencoded');
    expect(await fine.json()).toEqual({ agentId: 'a\u0001b', note: '%00' });
    // `curl -d '{…}'` sends JSON as a form: the JSON rules apply, and the route reads the text.
    const json = JSON.stringify({ note: '%00' });
    expect(await (await post('/items', json, 'application/x-www-form-urlencoded')).json()).toEqual({
      text: json,
    });
  });

  it('keeps every other character, control characters included', async () => {
    const text = 'tab\t lf\n cr\r esc\u001b del\u007f c1\u0085 nbsp\u00a0 bom\ufeff nonchar\uffff 😀';
    const res = await post('/items', JSON.stringify({ text }));
    expect(JSON.parse(((await res.json()) as { text: string }).text)).toEqual({ text });
    const q = await app.request(`/items/${encodeURIComponent(text)}?q=${encodeURIComponent(text)}`);
    expect(await q.json()).toEqual({ id: text, q: { q: text } });
  });

  it('answers through `answer` when it gives a response, and throws otherwise', async () => {
    const paged = makeApp({
      answer: (c, refusal) =>
        c.req.path.startsWith('/items/') ? c.html(`<p>${refusal.code}</p>`, refusal.status) : undefined,
    });
    const page = await paged.request('/items/%00');
    expect(page.status).toBe(400);
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(await page.text()).toBe('<p>VALIDATION_ERROR</p>');
    const thrown = await paged.request('/items', { method: 'POST', body: JSON.stringify({ a: NUL }) });
    expect(await paths(thrown)).toEqual(['body.a']);
  });

  it('lists at most maxIssues', async () => {
    const few = makeApp({ maxIssues: 2 });
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, NUL])));
    const res = await few.request('/items', { method: 'POST', body });
    expect(await paths(res)).toEqual(['body.f0', 'body.f1']);
  });
});
