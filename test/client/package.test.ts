import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * @warden/client as it would be published: built by tsc with its own tsconfig, every export of its
 * package.json present, the node entry importable from the build, and the browser/edge entry
 * bundled for the browser with no Node built-in anywhere in it (jose included).
 */
const CLIENT = fileURLToPath(new URL('../../client/', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Every file path an `exports` map points at. */
function targets(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (node && typeof node === 'object') return Object.values(node).flatMap(targets);
  return [];
}

describe('@warden/client, built', () => {
  let out = '';
  beforeAll(async () => {
    // Inside the repository so that the build resolves jose as an installed package would; ignored by git.
    out = mkdtempSync(join(CLIENT, 'build.tmp.'));
    await promisify(execFile)(process.execPath, [tsc, '-p', join(CLIENT, 'tsconfig.json'), '--outDir', out]);
  }, 120_000);
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('builds with tsc, and every export of package.json is a built file', () => {
    const pkg = JSON.parse(readFileSync(join(CLIENT, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: '@warden/client', type: 'module' });
    const files = targets(pkg.exports);
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) expect(existsSync(join(out, file.replace(/^\.\/dist\//, ''))), file).toBe(true);
  });

  it('the node entry runs from the build', async () => {
    const built = await import(pathToFileURL(join(out, 'node.js')).href);
    const client = built.clientFromEnv({}, { WARDEN_URL: 'http://127.0.0.1:1', WARDEN_AGENT_KEY: 'wk_x' });
    expect(client).toBeInstanceOf(built.WardenClient);
    expect(() => built.clientFromEnv({}, {})).toThrow(/WARDEN_URL/);
    expect(new built.WardenError(403, { error: 'No.', code: 'FORBIDDEN', requestId: 'req_1' })).toMatchObject(
      {
        code: 'FORBIDDEN',
        status: 403,
      },
    );
  });

  it('the browser and edge entry bundles for the browser without a Node built-in', async () => {
    const result = await build({
      entryPoints: [join(out, 'index.js')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes('jose'))).toBe(true);
    expect(inputs.filter((i) => i.startsWith('node:') || /^(fs|crypto|buffer|http|net)$/.test(i))).toEqual(
      [],
    );
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).toContain('crypto.subtle');
    expect(code).not.toMatch(/\bprocess\.env\b|\bBuffer\.from\b|\brequire\(/);
  });
});
