import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDatabaseUrl } from '../support/harness.ts';
import { cleanEnv, type Running, runCommand, runNode } from './spawn.ts';

/**
 * What a person sees at a terminal (issue 21 item 3): log lines they can read when stdout is a TTY
 * outside production, JSON lines otherwise; a port already taken stops the start with one line that
 * names the port and PORT, without a stack trace and without spending the demo's one-time secrets.
 */

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function database(): string {
  const db = tempDatabaseUrl();
  cleanups.push(db.cleanup);
  return db.url;
}

function started(run: Running): Running {
  cleanups.push(async () => {
    run.kill();
    await run.exited;
  });
  return run;
}

/**
 * `script` (util-linux) runs the gateway on a pseudo-terminal, so its stdout is a TTY as in a shell;
 * killing `script` hangs the terminal up, which ends the gateway too.
 */
function onTerminal(env: Record<string, string>): Running {
  const command = `exec "${process.execPath}" --import tsx gateway/main.ts`;
  return started(runCommand('script', ['-qfec', command, '/dev/null'], cleanEnv(env)));
}

describe('the first start at a terminal', () => {
  it('a port in use: exit 1 and one line naming the port and PORT, no stack; the next start still prints the demo', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as AddressInfo).port;
    const url = database();
    const env = { NODE_ENV: 'development', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_URL: url };

    const refused = await started(runNode('gateway/main.ts', [], cleanEnv({ ...env, PORT: String(port) })))
      .exited;
    expect(refused.code).toBe(1);
    const lines = refused.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`port ${port} is in use`);
    expect(lines[0]).toMatch(/set PORT\b/);
    expect(refused.stderr).not.toMatch(/\n\s+at |EADDRINUSE|node:/);
    expect(refused.stdout).not.toContain('Demo workspace created');

    // Nothing was created while the port was taken: the next start makes the demo and prints its secrets.
    const next = started(runNode('gateway/main.ts', [], cleanEnv({ ...env, PORT: '0' })));
    await next.waitFor(/admin token\s+wm_\S+/, 45_000);
  }, 90_000);

  it('on a TTY outside production, one readable line per event, not JSON', async () => {
    const run = onTerminal({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: database(),
    });
    await run.waitFor(/Console\s+http:\/\/localhost:\d+\/console/, 45_000);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's colour codes are removed.
    const plain = run.stdout().replace(/\u001b\[[0-9;]*m/g, '');
    const listening = plain.split(/\r?\n/).find((line) => line.includes('listening'));
    expect(listening).toBeDefined();
    expect(listening).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening \{.*"port":\d+/);
    expect(plain).not.toMatch(/^\{"level"/m);
  }, 60_000);

  it('on a TTY in production, JSON lines still (a log shipper may read the terminal)', async () => {
    const run = onTerminal({
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: database(),
      SECRETS_KEY: 'a-secrets-key-of-at-least-32-characters',
      PUBLIC_BASE_URL: 'https://warden.example',
    });
    await run.waitFor(/"msg":"listening"/, 45_000);
    const listening = run
      .stdout()
      .split(/\r?\n/)
      .find((line) => line.includes('"msg":"listening"'));
    expect(JSON.parse(listening ?? '')).toMatchObject({ level: 30, msg: 'listening' });
  }, 60_000);
});
