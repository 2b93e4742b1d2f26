import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { envSchema } from '../../config/env.ts';
import { ADMIN_TOKEN, TEST_SECRETS_KEY } from '../support/harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Replica {
  url: string;
  /** What the process printed, for failure messages. */
  output: string[];
  /** False once the process has exited, whatever the reason. */
  alive(): boolean;
  stop(): Promise<void>;
  /** kill -9: no drain, no clean-up; resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * One real gateway process (`gateway/main.ts`, PORT=0) on `databaseUrl`; resolves once it logged
 * the port it listens on. NODE_ENV=production so it does not create a demo workspace.
 */
export async function startReplica(databaseUrl: string, env: Record<string, string> = {}): Promise<Replica> {
  // Every variable the config reads is set here (empty means unset), nothing leaks from the test run.
  const unset = Object.fromEntries(Object.keys(envSchema.shape).map((name) => [name, '']));
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...unset,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: databaseUrl,
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      SECRETS_KEY: TEST_SECRETS_KEY,
      // The test's upstream listens on 127.0.0.1.
      EGRESS_ALLOW_PRIVATE: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('did not start within 20 s')), 20_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`replica: ${error.message}\n${output.join('\n')}`));
    };
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        const entry = parseLine(line);
        if (entry?.msg === 'listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.once('exit', (code) => fail(new Error(`exited with ${code} before listening`)));
  });
  child.removeAllListeners('exit');
  return {
    url: `http://127.0.0.1:${port}`,
    output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child),
    kill: () =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
  };
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** SIGTERM (the gateway drains and exits), SIGKILL if it has not after 10 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** One JSON call to a replica over its socket. */
export async function send(
  baseUrl: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : {}, headers: res.headers };
}
