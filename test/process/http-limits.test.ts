import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/index.ts';
import { ADMIN_TOKEN, tempDatabaseUrl } from '../support/harness.ts';
import { cleanEnv, type Running, runNode } from './spawn.ts';

/**
 * Issue 18 item 10b, the real process: `main.ts` listens with the HTTP limits of its environment
 * (the behaviour itself is tested in-process in test/security/http-limits.test.ts).
 */

interface Client {
  socket: Socket;
  received: () => string;
  /** Ms from connect to the server closing it. */
  closed: Promise<number>;
}

function open(port: number, localAddress?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let data = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', () => undefined);
    const opened = performance.now();
    const closed = new Promise<number>((done) => socket.on('close', () => done(performance.now() - opened)));
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

describe('warden process: HTTP limits from the environment', () => {
  let db: { url: string; cleanup: () => void };
  let gateway: Running;
  let port = 0;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = tempDatabaseUrl();
    gateway = runNode(
      'gateway/main.ts',
      [],
      cleanEnv({
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        DATABASE_URL: db.url,
        WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
        HTTP_HEADERS_TIMEOUT_MS: '500',
        HTTP_REQUEST_TIMEOUT_MS: '1000',
        HTTP_MAX_CONNECTIONS_PER_IP: '2',
      }),
    );
    const [line] = await gateway.waitFor(/\{[^\n]*"msg":"listening"[^\n]*\}/);
    port = (JSON.parse(line) as { port: number }).port;
  });
  afterAll(async () => {
    for (const client of clients) client.socket.destroy();
    gateway.kill();
    await gateway.exited;
    db.cleanup();
  });

  it('closes a slow-header client with 408 within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const slow = await open(port);
    clients.push(slow);
    slow.socket.write('GET /health HTTP/1.1\r\nHost: gw\r\nX-Slow: ');
    const lifetime = await slow.closed;
    expect(lifetime).toBeGreaterThanOrEqual(450);
    expect(lifetime).toBeLessThan(1_500);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a third connection from one address unread (HTTP_MAX_CONNECTIONS_PER_IP=2)', async () => {
    const held = [await open(port), await open(port)];
    clients.push(...held);
    await sleep(20);
    const excess = await open(port);
    clients.push(excess);
    excess.socket.write('GET /health HTTP/1.1\r\nHost: gw\r\n\r\n');
    expect(await excess.closed).toBeLessThan(450);
    expect(excess.received()).toBe('');
    // Another address is served.
    const other = await open(port, '127.0.0.2');
    clients.push(other);
    other.socket.write('GET /health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    await other.closed;
    expect(other.received()).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('HTTP limit variables', () => {
  it('HTTP_REQUEST_TIMEOUT_MS below HTTP_HEADERS_TIMEOUT_MS is refused by name', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toThrow(
      ConfigError,
    );
    try {
      loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        {
          variable: 'HTTP_REQUEST_TIMEOUT_MS',
          message: 'must be at least HTTP_HEADERS_TIMEOUT_MS (20000) (got 10000)',
        },
      ]);
    }
  });

  it('the defaults', () => {
    expect(loadConfig({}).http).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 4_096,
      maxConnectionsPerIp: 512,
      maxInFlight: 256,
    });
  });
});
