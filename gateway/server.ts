import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { HttpLimits } from '../config/index.ts';
import { answerClientErrors } from './client-errors.ts';

export interface ListenOptions {
  fetch: (request: Request, env: unknown) => Response | Promise<Response>;
  port: number;
  hostname: string;
  limits: HttpLimits;
}

/**
 * The gateway's HTTP server (Node's, through @hono/node-server) with the limits of issue 18 item 10b:
 * slow clients are closed, and connections are capped in all and per client address.
 *
 * - A request whose headers (HTTP_HEADERS_TIMEOUT_MS) or whole body (HTTP_REQUEST_TIMEOUT_MS) has
 *   not arrived in time is answered 408 REQUEST_TIMEOUT (answerClientErrors) and its connection
 *   closed. Node checks these every `connectionsCheckingInterval` (30 s by default, which let a
 *   slowloris socket live 45 s): here a fraction of the headers timeout, at most a second.
 * - An idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS.
 * - Past HTTP_MAX_CONNECTIONS (Node's maxConnections) or HTTP_MAX_CONNECTIONS_PER_IP open
 *   connections, a new one is closed before a byte is read: no request on it runs. Load shedding that
 *   answers (503 with Retry-After, probes exempt) is the in-flight cap of the app (middleware/load-shed).
 */
export function listen(options: ListenOptions, onListening?: (info: AddressInfo) => void): ServerType {
  const { limits } = options;
  const server = serve(
    {
      fetch: options.fetch,
      port: options.port,
      hostname: options.hostname,
      serverOptions: {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
      },
    },
    onListening,
  ) as Server;
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  if (limits.maxConnectionsPerIp > 0) capPerAddress(server, limits.maxConnectionsPerIp);
  answerClientErrors(server);
  return server;
}

/**
 * Counts open connections per remote address and closes one past `max`. Prepended, so it runs before
 * the HTTP parser is attached: a destroyed socket never yields a request.
 */
function capPerAddress(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
