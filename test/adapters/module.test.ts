import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadModuleAdapters } from '../../adapters/module.ts';

const GOOD = `
export default function createShop({ businessId }) {
  return {
    async discover() { return { status: 'succeeded', data: { businessId, kind: 'module' } }; },
    async query(request) { return { status: 'succeeded', data: request }; },
    async execute(request, options) { return { status: 'succeeded', data: { request, key: options.idempotencyKey } }; },
  };
}
`;

const dirs: string[] = [];
async function tempDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'warden-adapters-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('loadModuleAdapters', () => {
  it('no directory, no modules', async () => {
    expect((await loadModuleAdapters(undefined)).size).toBe(0);
  });

  it('loads .mjs, .js and .ts files by file name and ignores the rest', async () => {
    const dir = await tempDir({
      'shop.mjs': GOOD,
      'other.js': GOOD.replace('createShop', 'createOther'),
      'typed.ts':
        'export default (o: { businessId: string }) => ({ discover: async () => ({ status: "succeeded" as const, data: o.businessId }), query: async () => ({ status: "succeeded" as const }), execute: async () => ({ status: "succeeded" as const }) });\n',
      'README.md': '# not a module',
      'types.d.ts': 'export {};',
    });
    const modules = await loadModuleAdapters(dir);
    expect([...modules.keys()].sort()).toEqual(['other', 'shop', 'typed']);

    const dispatcher = new Agent();
    try {
      const factory = modules.get('shop');
      expect(factory).toBeDefined();
      const adapter = factory?.({ businessId: 'biz_m', dispatcher });
      expect(await adapter?.discover({ businessId: 'biz_m', transactionId: 't' })).toEqual({
        status: 'succeeded',
        data: { businessId: 'biz_m', kind: 'module' },
      });
      expect(
        await adapter?.execute(
          { a: 1 },
          { idempotencyKey: 'k' },
          { businessId: 'biz_m', transactionId: 't' },
        ),
      ).toEqual({
        status: 'succeeded',
        data: { request: { a: 1 }, key: 'k' },
      });
      const typed = modules.get('typed')?.({ businessId: 'biz_t', dispatcher });
      expect((await typed?.discover({ businessId: 'biz_t', transactionId: 't' }))?.data).toBe('biz_t');
      // Each adapter is a worker (issue 12); stop them.
      await Promise.all([adapter?.close?.(), typed?.close?.()]);
    } finally {
      await dispatcher.close();
    }
  });

  it('a module that fails to import names its file', async () => {
    const dir = await tempDir({ 'ok.mjs': GOOD, 'broken.mjs': 'export default function ( {\n' });
    await expect(loadModuleAdapters(dir)).rejects.toThrow(/broken\.mjs failed to load/);
  });

  it('a module that throws while loading names its file', async () => {
    const dir = await tempDir({ 'throws.mjs': 'throw new Error("boom");\n' });
    await expect(loadModuleAdapters(dir)).rejects.toThrow(/throws\.mjs failed to load: boom/);
  });

  it('a default export that is not a factory names its file', async () => {
    const dir = await tempDir({ 'nofactory.mjs': 'export const x = 1;\n' });
    await expect(loadModuleAdapters(dir)).rejects.toThrow(/nofactory\.mjs must default-export a factory/);
  });

  it('two files for one module name are refused', async () => {
    const dir = await tempDir({ 'shop.mjs': GOOD, 'shop.js': GOOD });
    await expect(loadModuleAdapters(dir)).rejects.toThrow(/already defines module "shop"/);
  });

  it('a missing directory fails loudly', async () => {
    await expect(loadModuleAdapters(join(tmpdir(), 'warden-no-such-dir-x'))).rejects.toThrow(/ADAPTERS_DIR/);
  });
});
