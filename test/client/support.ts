import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gateway } from '../../gateway/app.ts';
import { call, type Tenant } from '../support/harness.ts';
import { until } from '../support/until.ts';

export interface DroppingProxy {
  url: string;
  /** Every request the proxy forwarded: method, path and Idempotency-Key. */
  forwarded: { method: string; path: string; idempotencyKey: string | undefined }[];
  /** Answers dropped so far. */
  dropped: number;
  close(): Promise<void>;
}

/**
 * An HTTP proxy on port 0 in front of `target` that forwards every request and, for the first
 * `drop` requests matching `when`, reads the gateway's whole answer and then cuts the client's
 * connection instead of passing it on: the request ran, the agent never hears.
 */
export async function startDroppingProxy(
  target: string,
  options: { drop?: number; when?: (method: string, path: string) => boolean } = {},
): Promise<DroppingProxy> {
  const when = options.when ?? ((method, path) => method === 'POST' && path === '/agp/execute');
  let toDrop = options.drop ?? 1;
  const base = new URL(target);
  const proxy: DroppingProxy = {
    url: '',
    forwarded: [],
    dropped: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const key = req.headers['idempotency-key'];
    proxy.forwarded.push({ method, path, idempotencyKey: typeof key === 'string' ? key : undefined });
    const headers = { ...req.headers, host: base.host };
    const upstream = httpRequest(
      { hostname: base.hostname, port: base.port, method, path, headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          if (toDrop > 0 && when(method, path)) {
            toDrop--;
            proxy.dropped++;
            res.socket?.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/**
 * Plays the approver: waits for the workspace's next pending approval and approves it with the
 * admin's token, as a person would from the console. Resolves with the approval's id.
 */
export async function approveNext(gw: Gateway, tenant: Tenant, seen = new Set<string>()): Promise<string> {
  let id = '';
  await until(
    async () => {
      const list = await call(gw, 'GET', '/v1/approvals', { key: tenant.adminToken });
      const pending = (list.body.approvals as { id: string; status: string }[]).find(
        (a) => a.status === 'pending' && !seen.has(a.id),
      );
      id = pending?.id ?? '';
      return id !== '';
    },
    10_000,
    'a pending approval',
    20,
  );
  seen.add(id);
  const approved = await call(gw, 'POST', `/v1/approvals/${id}/approve`, {
    key: tenant.adminToken,
    body: {},
  });
  if (approved.status !== 200) throw new Error(`approve answered ${approved.status}`);
  return id;
}
