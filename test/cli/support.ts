import { createServer } from 'node:net';
import { join } from 'node:path';
import { cleanEnv, type Running, runNode } from '../process/spawn.ts';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (the test fails with what was printed when it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

/** `warden <args>` as a person runs it: the npm bin (gateway/bin/warden.js), a clean environment. */
export function spawnWarden(args: string[], env: Record<string, string> = {}): Running {
  return runNode(join('gateway', 'bin', 'warden.js'), args, cleanEnv(env));
}

export async function warden(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const { code, stdout, stderr } = await spawnWarden(args, env).exited;
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(`warden ${args.join(' ')} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
      }
    },
  };
}

/** `warden` bound to one gateway and token: `as(token)(args)`. */
export const against =
  (url: string) =>
  (token: string) =>
  (...args: string[]): Promise<Ran> =>
    warden(args, { WARDEN_URL: url, WARDEN_TOKEN: token });

/** A port nothing listens on: connections to it are refused. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every error is one line on stderr: `warden: <sentence> (<CODE>)`. */
export const ONE_LINE_ERROR = (code: string) => new RegExp(`^warden: [^\\n]+ \\(${code}\\)\\n$`);
