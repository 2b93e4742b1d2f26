import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServerHandle {
  name: string;
  url: string;
  pid: number;
  /** Everything the child sent with its ready message (port, and e.g. an agent key). */
  info: Record<string, unknown>;
  /** Asks the child to close and waits for it to exit (SIGKILL after a timeout). */
  stop(): Promise<number | null>;
}

export interface StartServerOptions {
  env?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  execArgv?: string[];
  /** Where the child's stdout goes: an open fd (a log file), 'ignore' or 'inherit'. Default 'ignore'. */
  stdout?: number | 'ignore' | 'inherit';
  startTimeoutMs?: number;
}

/** `bench/servers/<script>.ts` in its own process (`node --import tsx`); resolves once it listens. */
export function startServer(script: string, options: StartServerOptions = {}): Promise<ServerHandle> {
  const path = fileURLToPath(new URL(`../servers/${script}.ts`, import.meta.url));
  const child: ChildProcess = fork(path, [], {
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', options.stdout ?? 'ignore', 'inherit', 'ipc'],
  });
  const pid = child.pid ?? -1;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${script}: not listening after ${options.startTimeoutMs ?? 30_000} ms`));
    }, options.startTimeoutMs ?? 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script}: exited before listening (code ${code}, signal ${signal})`));
    });
    child.on('message', (message: unknown) => {
      if (typeof message !== 'object' || message === null) return;
      const info = message as Record<string, unknown>;
      if (info.type !== 'ready' || typeof info.port !== 'number') return;
      clearTimeout(timer);
      resolve({ name: script, url: `http://127.0.0.1:${info.port}`, pid, info, stop });
    });
  });
}
