import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpLimits } from '../../config/index.ts';
import { listen } from '../../gateway/server.ts';
import {
  call,
  createTenant,
  registerEcho,
  registerHttpBusiness,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/**
 * Issue 18 item 10b: 200 slow-header and slow-body sockets stayed open for 45 s, and nothing capped the
 * connections one client holds. The gateway's own server (gateway/server.ts, what main.ts listens
 * with) closes slow clients within HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS, idle keep-alive
 * connections after HTTP_KEEP_ALIVE_TIMEOUT_MS, and refuses connections past HTTP_MAX_CONNECTIONS_PER_IP
 * and HTTP_MAX_CONNECTIONS, all on real sockets, while it keeps serving everyone else.
 */

const BASE: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 0,
  maxConnectionsPerIp: 0,
  maxInFlight: 0,
};

/** A raw TCP client: what it received, and when the server closed it (ms after `opened`). */
interface Raw {
  socket: Socket;
  opened: number;
  received: () => string;
  closed: Promise<number>;
}

function raw(port: number, localAddress?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let data = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      data += chunk;
    });
    // Writing into a socket the server closed fails with EPIPE/ECONNRESET: that is the point.
    socket.on('error', () => undefined);
    const opened = performance.now();
    const closed = new Promise<number>((done) => socket.on('close', () => done(performance.now() - opened)));
    socket.once('connect', () => resolve({ socket, opened, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `everyMs` until the socket closes: a slowloris. */
function dribble(client: Raw, text: string, everyMs = 50): void {
  let i = 0;
  const timer = setInterval(() => {
    if (client.socket.destroyed || client.socket.writableEnded) {
      clearInterval(timer);
      return;
    }
    client.socket.write(text[i % text.length] as string);
    i += 1;
  }, everyMs);
  void client.closed.then(() => clearInterval(timer));
}

/** One GET on its own connection (Connection: close), as any other client would send it. */
async function get(port: number, path: string, localAddress?: string): Promise<string> {
  const client = await raw(port, localAddress);
  client.socket.write(`GET ${path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`);
  await client.closed;
  return client.received();
}

function serverOn(
  gw: TestGateway,
  limits: Partial<HttpLimits>,
): Promise<{ port: number; server: ServerType }> {
  return new Promise((resolve) => {
    const server = listen(
      { fetch: gw.app.fetch, port: 0, hostname: '127.0.0.1', limits: { ...BASE, ...limits } },
      (info: AddressInfo) => resolve({ port: info.port, server }),
    );
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    (server as Server).closeAllConnections();
    server.close(() => resolve());
  });
}

describe('slow clients and connection caps (issue 18 item 10b)', () => {
  let gw: TestGateway;
  let tenant: Tenant;
  const servers: ServerType[] = [];
  const clients: Raw[] = [];
  const open = async (port: number, localAddress?: string) => {
    const client = await raw(port, localAddress);
    clients.push(client);
    return client;
  };
  const start = async (limits: Partial<HttpLimits>) => {
    const { port, server } = await serverOn(gw, limits);
    servers.push(server);
    return port;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    await registerEcho(gw, 'echo');
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    for (const client of clients) client.socket.destroy();
    for (const server of servers) await closeServer(server);
    await gw.dispose();
  });

  it('slow headers (and silent connections) get 408 and are closed within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const port = await start({ headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    const slow = await Promise.all(Array.from({ length: 40 }, () => open(port)));
    for (const client of slow.slice(0, 30))
      dribble(client, 'GET /health HTTP/1.1\r\nHost: gw\r\nX-Slow: aaaa');
    // The other 10 connect and send nothing at all.

    // Everyone else is served meanwhile, at once.
    await sleep(200);
    const started = performance.now();
    expect(await get(port, '/health')).toMatch(/^HTTP\/1\.1 200 /);
    expect(performance.now() - started).toBeLessThan(300);

    const lifetimes = await Promise.all(slow.map((client) => client.closed));
    // The check runs every headersTimeout / 4 (125 ms): closed past 500 ms, well before a second.
    for (const ms of lifetimes) {
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(1_500);
    }
    for (const client of slow.slice(0, 30)) {
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(client.received()).toContain('"code":"REQUEST_TIMEOUT"');
    }
  });

  it('a slow body is answered 408 and closed within HTTP_REQUEST_TIMEOUT_MS', async () => {
    const port = await start({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 });
    const body = JSON.stringify({ businessId: 'echo', padding: 'x'.repeat(200) });
    const slow = await Promise.all(Array.from({ length: 20 }, () => open(port)));
    for (const client of slow) {
      client.socket.write(
        'POST /agp/discover HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n' +
          `Authorization: Bearer ${tenant.agentKey}\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      dribble(client, body);
    }
    await sleep(400); // past the headers timeout: these sent their headers, only the body is slow
    expect(await get(port, '/health')).toMatch(/^HTTP\/1\.1 200 /);
    const lifetimes = await Promise.all(slow.map((client) => client.closed));
    for (const ms of lifetimes) {
      expect(ms).toBeGreaterThanOrEqual(950);
      expect(ms).toBeLessThan(2_000);
    }
    for (const client of slow) expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    // None of them reached the business: the body never arrived.
    const ledger = await call(gw, 'GET', '/v1/transactions', { key: tenant.adminToken });
    expect(ledger.body.transactions).toEqual([]);
  });

  it('an idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const port = await start({ keepAliveTimeoutMs: 400 });
    const client = await open(port);
    client.socket.write('GET /health HTTP/1.1\r\nHost: gw\r\n\r\n');
    for (let waited = 0; !client.received().includes('"ok"') && waited < 1_000; waited += 10) await sleep(10);
    const answered = performance.now() - client.opened;
    const idle = (await client.closed) - answered;
    // Node closes it a second after the timeout it advertises (`Keep-Alive: timeout=`), so that a
    // client that honours the hint closes first and never sends into a closing socket.
    expect(idle).toBeGreaterThanOrEqual(350);
    expect(idle).toBeLessThan(400 + 1_000 + 600);
  });

  it('HTTP_MAX_CONNECTIONS_PER_IP: the excess connection is closed unread; other addresses are served', async () => {
    const port = await start({ maxConnectionsPerIp: 3 });
    const held = [await open(port), await open(port), await open(port)];
    // Give the server the turn that counts them.
    await sleep(20);
    const excess = await open(port);
    excess.socket.write('GET /health HTTP/1.1\r\nHost: gw\r\n\r\n');
    expect(await excess.closed).toBeLessThan(500);
    expect(excess.received()).toBe('');

    // Another client address (127.0.0.2 is loopback too) has its own count.
    expect(await get(port, '/health', '127.0.0.2')).toMatch(/^HTTP\/1\.1 200 /);

    // One of the three leaves: a new connection from 127.0.0.1 is served again.
    held[0]?.socket.destroy();
    await sleep(20);
    expect(await get(port, '/health')).toMatch(/^HTTP\/1\.1 200 /);
    // The held ones still work.
    const kept = held[1] as Raw;
    kept.socket.write('GET /health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    await kept.closed;
    expect(kept.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('HTTP_MAX_CONNECTIONS: past it a connection is closed unread, whoever opens it', async () => {
    const port = await start({ maxConnections: 4 });
    await Promise.all([
      open(port),
      open(port, '127.0.0.2'),
      open(port, '127.0.0.3'),
      open(port, '127.0.0.4'),
    ]);
    await sleep(20);
    const excess = await open(port, '127.0.0.5');
    excess.socket.write('GET /health HTTP/1.1\r\nHost: gw\r\n\r\n');
    expect(await excess.closed).toBeLessThan(500);
    expect(excess.received()).toBe('');
  });
});

describe('load shedding with the default configuration (issue 18 item 10c)', () => {
  let gw: TestGateway;
  let tenant: Tenant;
  let business: Server;
  const held: (() => void)[] = [];

  beforeAll(async () => {
    // A business that holds every answer until released: requests pile up in the gateway.
    business = createServer((req, res) => {
      req.resume();
      held.push(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'succeeded', data: {} }));
      });
    });
    await new Promise<void>((resolve) => business.listen(0, '127.0.0.1', resolve));
    const { port } = business.address() as AddressInfo;
    // The defaults, except that calls queued for the business wait until it is released.
    gw = await startTestGateway({ env: { ADAPTER_QUEUE_TIMEOUT_MS: '60000' } });
    await registerHttpBusiness(gw, `http://127.0.0.1:${port}`, 'slow');
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await gw.dispose();
    business.closeAllConnections();
    await new Promise<void>((resolve) => business.close(() => resolve()));
  });

  it('512 simultaneous requests: past HTTP_MAX_IN_FLIGHT (256) 503 SERVICE_UNAVAILABLE at once; probes answer', async () => {
    expect(gw.deps.config.http.maxInFlight).toBe(256);
    const settled: Awaited<ReturnType<typeof call>>[] = [];
    const all = Array.from({ length: 512 }, () =>
      call(gw, 'POST', '/agp/query', {
        key: tenant.agentKey,
        body: { businessId: 'slow', request: {} },
      }).then((res) => {
        settled.push(res);
        return res;
      }),
    );
    for (let waited = 0; settled.length < 256 && waited < 10_000; waited += 20) await sleep(20);
    expect(settled).toHaveLength(256);
    for (const res of settled) {
      expect(res.status).toBe(503);
      expect(res.headers.get('Retry-After')).toBe('1');
      expect(res.body).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        requestId: res.headers.get('X-Request-Id'),
        details: { maxInFlight: 256 },
      });
    }
    // The load balancer's probes still answer while the gateway sheds.
    expect((await call(gw, 'GET', '/health')).status).toBe(200);
    expect((await call(gw, 'GET', '/ready')).status).toBe(200);
    expect((await call(gw, 'GET', '/agp/businesses', { key: tenant.agentKey })).status).toBe(503);

    // The business answers: what was admitted completes (64 at a time, ADAPTER_MAX_CONCURRENCY).
    const release = setInterval(() => {
      for (const answer of held.splice(0)) answer();
    }, 10);
    const answers = await Promise.all(all);
    clearInterval(release);
    expect(answers.filter((r) => r.status === 200)).toHaveLength(256);
    expect((await call(gw, 'GET', '/agp/businesses', { key: tenant.agentKey })).status).toBe(200);
  });
});
