/**
 * The server side of the spawn protocol (see spawn.ts): a bench server tells the parent it is listening
 * over IPC, and stops when asked (IPC `stop` or SIGTERM) by running its own close and exiting 0, so
 * `--cpu-prof` gets to write its profile.
 */

export interface ReadyInfo {
  port: number;
  [key: string]: string | number | boolean;
}

export function announceReady(info: ReadyInfo): void {
  if (process.send) process.send({ type: 'ready', ...info });
  else process.stdout.write(`${JSON.stringify({ type: 'ready', ...info })}\n`);
}

export function onStop(close: () => Promise<void>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`bench server: close failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && 'type' in message && message.type === 'stop')
      stop();
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The parent went away: do not linger.
  process.on('disconnect', stop);
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`bench server: ${name} is not set`);
  return value;
}
