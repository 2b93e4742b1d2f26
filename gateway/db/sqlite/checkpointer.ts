import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop (issue 9). SQLite's automatic checkpoint runs inside the
 * COMMIT that crosses 1,000 WAL pages: the committing request copies every page into the database
 * file and fsyncs it, on the main thread, and every request in flight waits behind it (about half
 * of COMMIT's cost, and most of p99, measured). Here a worker thread with its own connection runs a
 * PASSIVE checkpoint every `everyMs`: it copies pages and fsyncs while the main thread keeps
 * serving (PASSIVE takes no writer lock). The writer keeps a high automatic threshold only as a
 * backstop, for when the worker falls behind: by then the pages are mostly copied, and the WAL
 * restarts from its start.
 *
 * The worker's code is plain CommonJS evaluated from a string, so it runs the same under tsx, the
 * test runner and a build, and needs nothing but the `libsql` package.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.libsql);
const db = new Database(workerData.path);
db.exec('PRAGMA busy_timeout = 1000');
let closing = false;
const tick = () => {
  if (closing) return;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ type: 'checkpointed', log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
};
const timer = setInterval(tick, workerData.everyMs);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  closing = true;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Stops the worker after its checkpoint in progress; resolves once it exited. */
  close(): Promise<void>;
}

export function startCheckpointer(
  path: string,
  options: { everyMs?: number; onError?: (message: string) => void } = {},
): Checkpointer {
  const libsql = createRequire(import.meta.url).resolve('libsql');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, libsql, everyMs: options.everyMs ?? 50 },
  });
  worker.unref();
  worker.on('message', (message: { type: string; message?: string }) => {
    if (message.type === 'error' && message.message) options.onError?.(message.message);
  });
  worker.on('error', (error) => options.onError?.(error.message));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async close() {
      // Referenced again while it closes: an unreferenced worker would let the process end first.
      worker.ref();
      worker.postMessage('close');
      await exited;
    },
  };
}
