import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady, onStop } from '../lib/child.ts';

/**
 * The stand-in business: `POST /agp/execute` answers succeeded at once. It is also the OTLP/HTTP
 * collector of the standards-cost scenario (issue 24): `POST /v1/traces` is accepted and dropped.
 */
const ANSWER = Buffer.from(JSON.stringify({ status: 'succeeded', data: { ok: true } }));
const NOT_FOUND = Buffer.from(JSON.stringify({ error: 'not found' }));

const server = createServer((req, res) => {
  // Read the whole body as a real business would before answering.
  req.on('data', () => {});
  req.on('end', () => {
    const ok = req.method === 'POST' && (req.url === '/agp/execute' || req.url === '/v1/traces');
    res.writeHead(ok ? 200 : 404, {
      'content-type': 'application/json',
      'content-length': String(ok ? ANSWER.length : NOT_FOUND.length),
    });
    res.end(ok ? ANSWER : NOT_FOUND);
  });
});
// Longer than any client's idle keep-alive, so the server never closes a pooled socket under a client.
server.keepAliveTimeout = 60_000;
server.headersTimeout = 61_000;

server.listen(0, '127.0.0.1', () => {
  announceReady({ port: (server.address() as AddressInfo).port });
});
onStop(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);
