import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN } from '../support/harness.ts';

/** A real gateway process (`gateway/main.ts`) for the suites that kill and restart it. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Proc {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

/** `node --import tsx gateway/main.ts` on a database file; resolves once it logged `listening`. */
export async function startProcess(
  databaseUrl: string,
  logs: string[],
  extraEnv: Record<string, string> = {},
): Promise<Proc> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
    APPROVAL_TIMEOUT_MIN_SECONDS: '1',
    SMTP_URL: '',
    PUBLIC_BASE_URL: 'https://warden.restart.test',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += String(chunk);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening" within 20 s; stderr: ${stderr}`)),
      20_000,
    );
    child.once('exit', (code) => reject(new Error(`exited with ${code}; stderr: ${stderr}`)));
    createInterface({ input: child.stdout ?? process.stdin }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch {
        // not a log line
      }
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, exited };
}

export async function kill(proc: Proc): Promise<void> {
  proc.child.kill('SIGKILL');
  await proc.exited;
}

export async function api(
  base: string,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}
