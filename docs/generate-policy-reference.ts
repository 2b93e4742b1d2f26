/**
 * Writes the reference tables of docs/policies.md from the policy document's zod schema, so the
 * manual cannot drift from what the gateway accepts:
 *
 *   npx tsx docs/generate-policy-reference.ts          # rewrite the tables in place
 *   npx tsx docs/generate-policy-reference.ts --check  # exit 1 when the committed tables are stale
 *
 * Each table lives between `<!-- BEGIN GENERATED: <name> -->` and `<!-- END GENERATED: <name> -->`;
 * everything outside the markers is written by hand. The tables come from policy/document/reference.ts
 * (which the console's help page renders too): field descriptions are the `.describe()` texts
 * in policy/document/schema.ts; types, bounds and defaults come from `z.toJSONSchema` of the same
 * schema (as a document is written, before defaults are applied). The result is formatted by Biome
 * (which formats Markdown too, padding tables), so `npm run lint` and this check agree. test/docs
 * runs the check.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  contextReference,
  operatorReference,
  policyFieldReference,
  type ReferenceSection,
} from '../policy/document/reference.ts';

export { slug } from '../policy/document/reference.ts';

export const POLICIES_MD = fileURLToPath(new URL('./policies.md', import.meta.url));

/** A table cell: its pipes escaped (code spans included), on one line. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const row = (cells: string[]): string => `| ${cells.map(cell).join(' | ')} |`;

function fieldTable(section: ReferenceSection): string {
  return [
    `### ${section.title}`,
    '',
    section.where,
    '',
    '| Field | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...section.fields.map((f) => row([f.name, f.type, f.fallback, f.description])),
  ].join('\n');
}

const BLOCKS: Record<string, () => string> = {
  fields: () =>
    [
      'Every object is strict: a key not listed here is refused. “Default” is what a left-out field',
      'means; “required” fields must be given; “—” means the control is simply absent.',
      '',
      policyFieldReference().map(fieldTable).join('\n\n'),
    ].join('\n'),
  operators: () =>
    [
      '| `op` | `value` | true when the value read is … |',
      '| --- | --- | --- |',
      ...operatorReference().map((o) => row([o.op, o.value, o.meaning])),
    ].join('\n'),
  contexts: () =>
    [
      '| `context` | the value read |',
      '| --- | --- |',
      ...contextReference().map((c) => row([c.context, c.meaning])),
    ].join('\n'),
};

/** Markdown as `biome format` writes it (the repository's formatter, also run by `npm run lint`). */
function formatMarkdown(markdown: string): string {
  const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
  return execFileSync(process.execPath, [biome, 'format', `--stdin-file-path=${POLICIES_MD}`], {
    input: markdown,
    encoding: 'utf8',
  });
}

/**
 * `markdown` with every generated block rewritten, formatted as Biome formats it; throws when a
 * block's markers are missing.
 */
export function renderPolicyReference(markdown: string): string {
  let out = markdown;
  for (const [name, render] of Object.entries(BLOCKS)) {
    const begin = `<!-- BEGIN GENERATED: ${name} -->`;
    const end = `<!-- END GENERATED: ${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/policies.md lacks the markers of the "${name}" block`);
    out = `${out.slice(0, from + begin.length)}\n${render()}\n${out.slice(to)}`;
  }
  return formatMarkdown(out);
}

function main(): void {
  const current = readFileSync(POLICIES_MD, 'utf8');
  const next = renderPolicyReference(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write(
        'docs/policies.md is stale: run `npx tsx docs/generate-policy-reference.ts` and commit it.\n',
      );
      process.exitCode = 1;
    }
    return;
  }
  if (next !== current) writeFileSync(POLICIES_MD, next);
  process.stdout.write(
    next === current ? 'docs/policies.md is up to date.\n' : 'docs/policies.md updated.\n',
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
