import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Dispatcher } from 'undici';
import { createModuleHost, type ModuleWorkerLimits, WORKER_URL, workerOptions } from './module-host.ts';
import type { Adapter } from './types.ts';

/**
 * How the registry builds a module adapter (DESIGN §7). The module itself runs in a worker of its own
 * (adapters/module-host.ts); what a module file default-exports is `({ businessId, fetch }) => adapter`.
 */
export type ModuleAdapterFactory = (options: {
  businessId: string;
  dispatcher: Dispatcher;
  /** The business's clear signing secret, for `ctx.fetch(url, { sign: true })`; asked for lazily. */
  signingSecret?: () => string;
}) => Adapter;

export type ModuleAdapterOptions = Partial<ModuleWorkerLimits>;

/** MODULE_ADAPTER_TIMEOUT_MS defaults to ADAPTER_TIMEOUT_MS (30 s), MODULE_ADAPTER_MEMORY_MB to 64. */
export const MODULE_ADAPTER_DEFAULTS: ModuleWorkerLimits = { timeoutMs: 30_000, memoryMb: 64 };

/** A module whose top level has not finished loading by then stops the start. */
const PROBE_TIMEOUT_MIN_MS = 10_000;

type Probe = { isFactory: boolean } | { error: string };

/** Imports the module in a throw-away worker: its top level never runs on the gateway's thread. */
function probe(url: string, limits: ModuleWorkerLimits): Promise<Probe> {
  return new Promise((done) => {
    const worker = new Worker(WORKER_URL, workerOptions(limits, { mode: 'probe', url }));
    let answered = false;
    const answer = (result: Probe) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      void worker.terminate();
      done(result);
    };
    const timer = setTimeout(
      () => answer({ error: 'it did not finish loading in time' }),
      Math.max(limits.timeoutMs, PROBE_TIMEOUT_MIN_MS),
    );
    worker.on('message', (m: { isFactory?: boolean; error?: { message?: string } }) =>
      answer(m.error ? { error: m.error.message ?? 'unknown error' } : { isFactory: m.isFactory === true }),
    );
    worker.on('error', (err) =>
      answer({
        error:
          (err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? 'it exhausted its memory limit'
            : err.message,
      }),
    );
    worker.on('exit', (code) => answer({ error: `its worker exited (code ${code})` }));
  });
}

const EXTENSIONS: ReadonlySet<string> = new Set(['.js', '.mjs', '.ts']);

/**
 * Finds every `.js`, `.mjs` and `.ts` file directly in `dir` (not recursively) at start; the module name is
 * the file name without its extension. Each is imported once in a worker to check it: a module that fails
 * to import, or whose default export is not a function, stops the start with an error naming the file.
 * `.ts` files are loaded with tsx (a dev dependency) inside the worker. Each adapter built from a module
 * runs in a worker of its own with `limits` (issue 12).
 */
export async function loadModuleAdapters(
  dir: string | undefined,
  limits: ModuleAdapterOptions = {},
): Promise<Map<string, ModuleAdapterFactory>> {
  const resolved: ModuleWorkerLimits = { ...MODULE_ADAPTER_DEFAULTS, ...limits };
  const modules = new Map<string, ModuleAdapterFactory>();
  if (dir === undefined) return modules;

  const root = resolve(dir);
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new Error(`ADAPTERS_DIR ${root} cannot be read.`, { cause: err });
  }

  const files = entries
    .filter(
      (e) =>
        (e.isFile() || e.isSymbolicLink()) && EXTENSIONS.has(extname(e.name)) && !e.name.endsWith('.d.ts'),
    )
    .map((e) => e.name)
    .sort();

  const found: { path: string; name: string }[] = [];
  for (const file of files) {
    const path = join(root, file);
    const name = file.slice(0, -extname(file).length);
    if (found.some((f) => f.name === name)) {
      throw new Error(`Adapter module ${path}: another file in ${root} already defines module "${name}".`);
    }
    found.push({ path, name });
  }
  // In parallel: a worker starts in tens of milliseconds, a .ts one (tsx) in hundreds.
  const probes = await Promise.all(found.map((f) => probe(pathToFileURL(f.path).href, resolved)));
  found.forEach(({ path, name }, i) => {
    const checked = probes[i];
    if (!checked || 'error' in checked) {
      throw new Error(`Adapter module ${path} failed to load: ${checked?.error ?? 'unknown error'}`);
    }
    if (!checked.isFactory) {
      throw new Error(
        `Adapter module ${path} must default-export a factory ({ businessId, fetch }) => Adapter.`,
      );
    }
    const url = pathToFileURL(path).href;
    modules.set(name, ({ businessId, dispatcher, signingSecret }) =>
      createModuleHost({ ...resolved, url, businessId, dispatcher, signingSecret }),
    );
  });
  return modules;
}
