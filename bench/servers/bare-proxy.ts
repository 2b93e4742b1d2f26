import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Agent } from 'undici';
import { announceReady, onStop, requireEnv } from '../lib/child.ts';

/**
 * The stack's own ceiling: Hono on @hono/node-server forwarding `POST /agp/execute` through a keep-alive
 * undici Agent (as the gateway's http adapter does), no auth, no ledger.
 */
const upstream = new URL(requireEnv('UPSTREAM_URL'));
const agent = new Agent({ keepAliveTimeout: 4_000 });

const app = new Hono();
app.post('/agp/execute', async (c) => {
  const body = await c.req.text();
  const res = await agent.request({
    origin: upstream.origin,
    path: '/agp/execute',
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body,
  });
  const json: unknown = await res.body.json();
  return c.json(json as Record<string, unknown>, res.statusCode === 200 ? 200 : 502);
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  announceReady({ port: info.port });
});
onStop(async () => {
  await new Promise<void>((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
  await agent.close();
});
