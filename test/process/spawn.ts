import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: processes run from here so `--import tsx` and relative paths resolve. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A clean environment: only what a shell needs plus `vars`, so nothing from the test runner's environment
 * (a PORT, an AGENR_EXECUTE_POLICY, a NODE_ENV) leaks into the process under test.
 */
export function cleanEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...vars };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits (never rejects). */
  exited: Promise<Finished>;
  /** Waits until stdout matches, or fails with what the process printed. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL if it is still running: for clean-up only. */
  kill(): void;
}

/** `node --import tsx <script> …args`, from the repository root. */
export function runNode(script: string, args: string[], env: NodeJS.ProcessEnv): Running {
  return runCommand(process.execPath, ['--import', 'tsx', script, ...args], env);
}

/** Any program, from the repository root, its output collected as `runNode` does. */
export function runCommand(file: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(file, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(out);
          if (match) {
            cleanup();
            resolve(match);
          } else if (done) {
            cleanup();
            reject(new Error(`process exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    kill() {
      if (!done && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
