import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { clientTypes, GENERATED_FILE, gatewayDocument } from '../../client/scripts/openapi-types.ts';

/**
 * The client's types come from the gateway's OpenAPI document: the committed file is what a fresh
 * generation writes (so it cannot drift: `npm run client:types` regenerates it), and they refuse
 * wrong fields at compile time.
 */
describe('@warden/client types', () => {
  it('the committed generated types equal a fresh generation from /openapi.json', async () => {
    const fresh = await clientTypes(await gatewayDocument());
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(fresh);
    expect(fresh).toContain('"/agp/execute": {');
    // Only the agent's routes: the workspace API can change without touching the client.
    expect(fresh).not.toContain('"/v1/');
  }, 60_000);

  it('a wrong field fails to compile, for the reason each line names', () => {
    const file = fileURLToPath(new URL('./type-errors.ts', import.meta.url));
    const source = readFileSync(file, 'utf8');
    const directives = source
      .split('\n')
      .filter((line) => line.trim().startsWith('// @ts-expect-error')).length;
    expect(directives).toBe(6);
    // The same file without its directives: each line under one must be an error.
    const stripped = source.replace(/^\s*\/\/ @ts-expect-error.*$/gm, '//');
    const host = ts.createCompilerHost({});
    const read = host.readFile;
    host.readFile = (name) => (name === file ? stripped : read(name));
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: true,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
    };
    const program = ts.createProgram([file], options, host);
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === file)
      .map((d) => ({
        line: (d.file?.getLineAndCharacterOfPosition(d.start ?? 0).line ?? 0) + 1,
        text: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      }));
    const lineOf = (needle: string) => source.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const at = (needle: string) => errors.filter((e) => e.line === lineOf(needle)).map((e) => e.text);
    expect(errors).toHaveLength(6);
    expect(at("businessID: 'shop'")).toEqual([expect.stringContaining("'businessID' does not exist")]);
    expect(at("request: 'buy a desk'")).toEqual([expect.stringContaining('not assignable')]);
    expect(at('status.state')).toEqual([expect.stringContaining("Property 'state' does not exist")]);
    expect(at("'sucess'")).toEqual([expect.stringContaining('have no overlap')]);
    expect(at("index: '0'")).toEqual([
      expect.stringContaining("'string' is not assignable to type 'number'"),
    ]);
    expect(at("'PAYMENT_REQUIRED'")).toEqual([expect.stringContaining('"PAYMENT_REQUIRED"')]);
    // A whole compiler run (seconds alone; far more on a loaded machine).
  }, 120_000);
});
