import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openSqlite } from '../../gateway/db/sqlite/database.ts';
import { getTransaction } from '../../gateway/repositories/transactions.ts';
import { ADMIN_TOKEN, startUpstream, tempDatabaseUrl, type Upstream } from '../support/harness.ts';
import { cleanEnv, type Running, runNode } from './spawn.ts';

/**
 * The real process (DESIGN §10): `npm start` on an empty development database prints a demo workspace and a
 * curl line that works; SIGTERM stops taking new work, finishes what is in flight, and exits 0.
 */

interface LogLine {
  msg?: string;
  port?: number;
  [key: string]: unknown;
}

const logLines = (stdout: string): LogLine[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

/** A request on a brand-new connection, so a pooled socket cannot hide a closed listener. */
function freshGet(url: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('warden process', () => {
  let db: { url: string; cleanup: () => void };
  let gateway: Running;
  let base = '';
  let upstream: Upstream;
  /** Released by the test: the business answers only once it is. */
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });

  beforeAll(async () => {
    db = tempDatabaseUrl();
    upstream = await startUpstream(async (_req, res) => {
      // A slow business: the execute is in flight for about a second.
      await Promise.race([released, new Promise((r) => setTimeout(r, 1000))]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'succeeded', data: { booked: true } }));
    });
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
      }),
    );
    await gateway.waitFor(/"msg":"listening"/);
    const listening = logLines(gateway.stdout()).find((l) => l.msg === 'listening');
    expect(listening?.port).toEqual(expect.any(Number));
    expect(listening?.port).toBeGreaterThan(0);
    base = `http://127.0.0.1:${listening?.port}`;
  });

  afterAll(async () => {
    release();
    gateway.kill();
    await gateway.exited;
    await upstream.close();
    db.cleanup();
  });

  const api = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('prints the demo workspace, an agent key, an admin token and a curl line that works', async () => {
    const curlLine = (await gateway.waitFor(/^\s*(curl -s .*\/agp\/execute .*)$/m))[1] ?? '';
    const out = gateway.stdout();
    const agentKey = /agent key\s+(\S+)/.exec(out)?.[1] ?? '';
    const adminToken = /admin token\s+(\S+)/.exec(out)?.[1] ?? '';
    const workspace = /workspace\s+(ws_\S+)/.exec(out)?.[1] ?? '';
    expect(workspace).toMatch(/^ws_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(agentKey.length).toBeGreaterThan(20);
    expect(adminToken.length).toBeGreaterThan(20);
    expect(curlLine).toContain(agentKey);
    expect(curlLine).toContain(`:${new URL(base).port}/agp/execute`);
    // The secrets are printed once for the operator, but never in a log line.
    for (const line of logLines(out)) {
      const text = JSON.stringify(line);
      expect(text).not.toContain(agentKey);
      expect(text).not.toContain(adminToken);
    }

    const ran = await sh(curlLine);
    expect(ran.code).toBe(0);
    const answer = JSON.parse(ran.stdout) as Record<string, unknown>;
    expect(answer).toMatchObject({ transactionId: expect.stringMatching(/^txn_/), status: 'succeeded' });
    expect(answer.code).toBeUndefined();
    expect(answer.data).toMatchObject({ businessId: 'echo', orderId: expect.any(String) });

    // The printed credentials are real: the key reads its transaction, the admin token lists its key.
    const status = await api('GET', `/agp/status/${answer.transactionId as string}`, agentKey);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: 'succeeded', operation: 'execute', businessId: 'echo' });
    const keys = await api('GET', '/v1/keys', adminToken);
    expect(keys.status).toBe(200);
    expect((keys.body.keys as { agentId: string }[]).map((k) => k.agentId)).toEqual(['demo-agent']);
  });

  it('SIGTERM: the in-flight execute completes, nothing new is served, exit 0, the outcome is on disk', async () => {
    const ws = await api('POST', '/v1/admin/workspaces', ADMIN_TOKEN, {
      name: 'Shutdown',
      adminEmail: 'ops@shutdown.test',
    });
    expect(ws.status).toBe(201);
    const workspaceId = (ws.body.workspace as { id: string }).id;
    const key = await api('POST', '/v1/keys', ws.body.adminToken as string, { agentId: 'patient' });
    expect(key.status).toBe(201);
    const biz = await api('POST', '/v1/admin/businesses', ADMIN_TOKEN, {
      id: 'slow-travel',
      name: 'Slow Travel',
      category: 'travel',
      adapter: { type: 'http', baseUrl: upstream.url },
    });
    expect(biz.status).toBe(201);
    expect(await freshGet(`${base}/ready`)).toMatchObject({ status: 200 });

    const inflight = api('POST', '/agp/execute', key.body.key as string, {
      businessId: 'slow-travel',
      request: { trip: 'BER-LIS', amount_cents: 4200 },
    });
    const deadline = Date.now() + 10_000;
    while (upstream.requests.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(upstream.requests).toHaveLength(1);

    const sigtermAt = Date.now();
    gateway.child.kill('SIGTERM');
    await gateway.waitFor(/shutting down/);

    // No new work: the listener is closed (or, while it closes, readiness says no).
    const ready = await freshGet(`${base}/ready`);
    if ('error' in ready) expect(ready.error).toMatch(/ECONNREFUSED|ECONNRESET/);
    else expect(ready.status).toBe(503);

    const answer = await inflight;
    const answeredAt = Date.now();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'succeeded', data: { booked: true } });
    const transactionId = answer.body.transactionId as string;

    const exit = await gateway.exited;
    const exitedAt = Date.now();
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    // The business took about a second, and the process waited for it rather than cutting it off.
    expect(answeredAt - sigtermAt).toBeGreaterThanOrEqual(800);
    // Then it left at once: the drained answer closed its keep-alive connection instead of the process
    // waiting for the client's idle timeout (or the 25 s force timeout).
    expect(exitedAt - answeredAt).toBeLessThan(2_000);
    expect(logLines(exit.stdout).map((l) => l.msg)).toContain('stopped');
    expect(exit.stderr).toBe('');

    const store = await openSqlite({ url: db.url, migrate: false });
    try {
      const txn = await getTransaction(store.reader, workspaceId, transactionId);
      expect(txn).toMatchObject({ status: 'succeeded', operation: 'execute', businessId: 'slow-travel' });
      expect(txn?.data).toEqual({ booked: true });
    } finally {
      await store.close();
    }
  });
});

describe('warden migrate', () => {
  it('on a fresh DATABASE_URL exits 0 and creates the tables', async () => {
    const db = tempDatabaseUrl();
    onTestFinished(db.cleanup);
    const run = runNode(join('gateway', 'bin', 'warden.js'), ['migrate'], cleanEnv({ DATABASE_URL: db.url }));
    onTestFinished(() => run.kill());
    const result = await run.exited;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/migrations applied/);

    const { createClient } = await import('@libsql/client');
    const client = createClient({ url: db.url });
    try {
      const rows = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table'");
      const tables = rows.rows.map((r) => String(r.name));
      for (const table of [
        'workspaces',
        'members',
        'agent_keys',
        'businesses',
        'transactions',
        'idempotency_keys',
      ]) {
        expect(tables).toContain(table);
      }
      // Empty: migrate creates the schema and nothing else (no demo workspace).
      const count = await client.execute('SELECT count(*) AS n FROM workspaces');
      expect(Number(count.rows[0]?.n)).toBe(0);
    } finally {
      client.close();
    }

    // Running it again is a no-op that still succeeds.
    const again = await runNode(
      join('gateway', 'bin', 'warden.js'),
      ['migrate'],
      cleanEnv({ DATABASE_URL: db.url }),
    ).exited;
    expect(again.code).toBe(0);
  });

  it('an unknown command exits non-zero with a usage line', async () => {
    const db = tempDatabaseUrl();
    onTestFinished(db.cleanup);
    const result = await runNode(
      join('gateway', 'bin', 'warden.js'),
      ['frobnicate'],
      cleanEnv({ DATABASE_URL: db.url }),
    ).exited;
    // 2: a usage error (commander), followed by the usage and every command, migrate among them.
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(result.stderr).toMatch(/Usage: warden \[options\] \[command\]/);
    expect(result.stderr).toMatch(/^\s+migrate\b/m);
  });
});
