import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Dispatcher } from 'undici';
import type { Adapter } from './types.ts';

/** What an adapter module in `ADAPTERS_DIR` default-exports (DESIGN §7). */
export type ModuleAdapterFactory = (options: { businessId: string; dispatcher: Dispatcher }) => Adapter;

const EXTENSIONS: ReadonlySet<string> = new Set(['.js', '.mjs', '.ts']);

/**
 * Loads every `.js`, `.mjs` and `.ts` file directly in `dir` (not recursively) at start; the module name is
 * the file name without its extension. A module that fails to import, or whose default export is not a
 * function, stops the start with an error naming the file. `.ts` files need a loader that strips types
 * (tsx, as `npm start` uses).
 */
export async function loadModuleAdapters(
  dir: string | undefined,
): Promise<Map<string, ModuleAdapterFactory>> {
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

  for (const file of files) {
    const path = join(root, file);
    const name = file.slice(0, -extname(file).length);
    if (modules.has(name)) {
      throw new Error(`Adapter module ${path}: another file in ${root} already defines module "${name}".`);
    }
    let loaded: { default?: unknown };
    try {
      loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`Adapter module ${path} failed to load: ${reason}`, { cause: err });
    }
    const factory = loaded.default;
    if (typeof factory !== 'function') {
      throw new Error(
        `Adapter module ${path} must default-export a factory ({ businessId, dispatcher }) => Adapter.`,
      );
    }
    modules.set(name, factory as ModuleAdapterFactory);
  }
  return modules;
}
