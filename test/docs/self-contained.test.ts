import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestGateway, type TestGateway } from '../support/harness.ts';

/**
 * Issue 21 item 1: the product stands on its own. Nothing a user reads (README, docs/, examples/,
 * the console and every other text the gateway serves, /openapi.json, error messages) points at a
 * file outside the repository, at the design notes the repository was built from, or at an issue
 * tracker a clone does not have; and every relative Markdown link leads to a file in the repo.
 */

const ROOT = resolve(import.meta.dirname, '../..');
/** Text that points outside the repository. */
const OUTSIDE = /\.\.\/shared|DESIGN(\.md| ?§)|\bissue #?\d+/i;

function files(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return files(path, keep);
    return keep(path) ? [path] : [];
  });
}

const MARKDOWN = [
  'README.md',
  'CONTRIBUTING.md',
  'client/README.md',
  ...files('docs', (p) => p.endsWith('.md')),
];
const EXAMPLES = files('examples', (p) => /\.(json|md|ts|js|mjs|yaml|yml|toml)$/.test(p));

/** The strings a source file can show or send: literals, templates and JSX text, never comments. */
function shownText(path: string): { text: string; line: number }[] {
  const source = ts.createSourceFile(
    path,
    readFileSync(join(ROOT, path), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isStringLiteralLike(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node) ||
      ts.isJsxText(node)
    ) {
      found.push({ text: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the product refers to nothing outside the repository', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw?.dispose());

  it('the README, docs/ and examples/ name no outside file, and their relative links resolve inside', () => {
    expect(MARKDOWN.length).toBeGreaterThan(5);
    const problems: string[] = [];
    for (const path of [...MARKDOWN, ...EXAMPLES]) {
      const text = readFileSync(join(ROOT, path), 'utf8');
      text.split('\n').forEach((line, i) => {
        if (OUTSIDE.test(line)) problems.push(`${path}:${i + 1}: ${line.trim()}`);
      });
      if (!path.endsWith('.md')) continue;
      for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^([a-z]+:|#)/i.test(target)) continue;
        const file = resolve(dirname(join(ROOT, path)), target.split('#')[0] ?? '');
        if (relative(ROOT, file).startsWith('..')) problems.push(`${path}: ${target} leaves the repository`);
        else if (!existsSync(file)) problems.push(`${path}: ${target} does not exist`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('no text the gateway or the CLI can show names one (comments may)', () => {
    const sources = [
      ...files('gateway', (p) => /\.tsx?$/.test(p)),
      ...files('policy', (p) => /\.tsx?$/.test(p)),
      ...files('config', (p) => /\.tsx?$/.test(p)),
      ...files('client/src', (p) => /\.tsx?$/.test(p)),
    ];
    expect(sources.length).toBeGreaterThan(100);
    const problems = sources.flatMap((path) =>
      shownText(path)
        .filter((s) => OUTSIDE.test(s.text))
        .map((s) => `${path}:${s.line}: ${s.text.slice(0, 120)}`),
    );
    expect(problems).toEqual([]);
  });

  it('nor does /openapi.json, which generated clients carry as documentation', async () => {
    const res = await call(gw, 'GET', '/openapi.json');
    const text = JSON.stringify(res.body);
    expect(text.match(new RegExp(OUTSIDE.source, 'gi')) ?? []).toEqual([]);
  });

  it('the check would see one', () => {
    expect(OUTSIDE.test('The document format is in DESIGN §6')).toBe(true);
    expect(OUTSIDE.test('see ../shared/DESIGN.md')).toBe(true);
    expect(OUTSIDE.test('The business API key (issue 12)')).toBe(true);
    expect(OUTSIDE.test('The policy document (docs/policies.md)')).toBe(false);
  });
});
