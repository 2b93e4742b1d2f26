import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { CliError, callApi, EXIT, type RemoteOptions, remote, seg } from './api.ts';
import { fields, line, paint, printJson, statusCell, statusColour, table } from './output.ts';

interface VersionView {
  name: string;
  version: number;
  versionId: string;
  createdAt: string;
  createdBy: string | null;
  document: unknown;
}

interface Decision {
  outcome: string;
  ruleId?: string;
  reason?: string;
  releaseAt?: string;
  stages?: { role?: string; tier?: string; quorum?: number }[];
  checks?: { control: string; id?: string; result: string; detail?: string }[];
  policy?: { name: string; version: number | null };
}

type NameOptions = RemoteOptions & { name: string };

/** Every policy command names its policy with `--name` (DESIGN §6: `default` governs AGP traffic). */
const named = (command: Command) => remote(command).option('-n, --name <policy>', 'policy name', 'default');

function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'READ_ERROR';
    throw new CliError(`Cannot read ${file}.`, code, EXIT.client);
  }
}

/** A version by number (`3`, `v3`) or id (`pv_…`) among the stored ones. */
function pick(versions: VersionView[], wanted: string, name: string): VersionView {
  const number = /^v?(\d+)$/.exec(wanted)?.[1];
  const found = versions.find((v) => (number ? v.version === Number(number) : v.versionId === wanted));
  if (!found) throw new CliError(`Policy ${name} has no version ${wanted}.`, 'NOT_FOUND', EXIT.notFound);
  return found;
}

interface PolicyFile {
  name: string;
  file: string;
  text: string;
}

/** A file names itself with --name; a folder's files are named by their own names (`<name>.json`). */
function policyFiles(path: string, name: string): PolicyFile[] {
  let folder = false;
  try {
    folder = statSync(path).isDirectory();
  } catch {
    throw new CliError(`Cannot read ${path}.`, 'ENOENT', EXIT.client);
  }
  if (!folder) return [{ name, file: path, text: readFile(path) }];
  const files = readdirSync(path)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new CliError(`${path} holds no *.json file.`, 'NOT_FOUND', EXIT.notFound);
  return files.map((f) => ({
    name: basename(f, '.json'),
    file: join(path, f),
    text: readFile(join(path, f)),
  }));
}

interface Impact {
  valid: boolean;
  issues: { path: string; message: string }[];
  currentVersion: number | null;
  examined: number;
  changed: number;
  byRule: { rule: string; count: number }[];
  examples: { transactionId: string; from: string; to: string; rule: string }[];
}

/**
 * `apply --dry-run`: for each document, the diff against the stored version and what it would
 * change, the policy's last 1,000 executes decided again (POST /v1/policies/:name/impact). Stores
 * nothing; exits 1 when a document is invalid, so a CI step fails before a merge.
 */
async function dryRun(opts: NameOptions, files: PolicyFile[]): Promise<void> {
  const results = [];
  let invalid = 0;
  for (const f of files) {
    let document: unknown;
    try {
      document = JSON.parse(f.text);
    } catch {
      throw new CliError(`${f.file} is not JSON.`, 'VALIDATION_ERROR', EXIT.client);
    }
    const current = await callApi<VersionView>(opts, 'GET', `/v1/policies/${seg(f.name)}`).catch((error) => {
      if (error instanceof CliError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
    const impact = await callApi<Impact>(opts, 'POST', `/v1/policies/${seg(f.name)}/impact`, f.text);
    const before = current ? pretty(current.document) : '';
    const identical = before === pretty(document);
    const patch = createTwoFilesPatch(
      current ? `${f.name}@v${current.version}` : `${f.name} (new)`,
      f.file,
      before,
      pretty(document),
    );
    if (!impact.valid) invalid += 1;
    results.push({
      name: f.name,
      file: f.file,
      currentVersion: current?.version ?? null,
      identical,
      patch,
      impact,
    });
  }
  if (opts.json) printJson({ dryRun: true, policies: results });
  else {
    for (const r of results) {
      const next =
        r.currentVersion === null ? 'would be created as version 1' : `version ${r.currentVersion}`;
      line(paint('bold', `Policy ${r.name} (${r.file}): ${next}`));
      if (!r.impact.valid) {
        line('  not a valid policy; it would be refused:');
        for (const i of r.impact.issues) line(`    ${i.path || '(document)'}: ${i.message}`);
        line();
        continue;
      }
      if (r.identical) line('  no change');
      else process.stdout.write(colourPatch(r.patch));
      const { examined, changed, byRule } = r.impact;
      line(
        `  simulated on the last ${examined} executes: ${changed} decision${changed === 1 ? '' : 's'} would change`,
      );
      for (const b of byRule) line(`    ${b.rule}: ${b.count}`);
      for (const e of r.impact.examples.slice(0, 5)) line(`    e.g. ${e.transactionId}: ${e.from} → ${e.to}`);
      line();
    }
  }
  if (invalid > 0) {
    throw new CliError(
      `${invalid} document${invalid === 1 ? ' is' : 's are'} not valid.`,
      'VALIDATION_ERROR',
      EXIT.client,
    );
  }
}

const pretty = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;

function colourPatch(patch: string): string {
  return patch
    .split('\n')
    .map((l) =>
      l.startsWith('+++') || l.startsWith('---')
        ? paint('bold', l)
        : l.startsWith('+')
          ? paint('green', l)
          : l.startsWith('-')
            ? paint('red', l)
            : l.startsWith('@@')
              ? paint('cyan', l)
              : l,
    )
    .join('\n');
}

/** `warden policy …`: the workspace's policies (DESIGN §5, §6). */
export function registerPolicyCommands(program: Command): void {
  const group = program
    .command('policy')
    .description('apply, read, compare and simulate policies (member token; admins apply)');

  named(group.command('apply'))
    .description(
      'store a policy document as a new immutable version (an identical one changes nothing); given a folder, every *.json in it, each named by its file',
    )
    .argument('<path>', 'a policy document (JSON), or a folder of them (<name>.json)')
    .option('--dry-run', 'store nothing: print each diff and its simulated effect on the last 1,000 executes')
    .action(async (path: string, opts: NameOptions & { dryRun?: boolean }) => {
      const files = policyFiles(path, opts.name);
      if (opts.dryRun) return dryRun(opts, files);
      // A folder is applied whole or not at all: every document is checked before any is stored.
      if (files.length > 1) {
        for (const f of files) {
          const check = await callApi<{ valid: boolean; issues: { path: string; message: string }[] }>(
            opts,
            'POST',
            '/v1/policies/validate',
            f.text,
          );
          if (!check.valid) {
            const first = check.issues[0];
            throw new CliError(
              `${f.file} is not a valid policy (${first ? `${first.path || '(document)'}: ${first.message}` : 'see the manual'}); nothing was applied.`,
              'VALIDATION_ERROR',
              EXIT.client,
            );
          }
        }
      }
      const applied: { name: string; version: number; versionId: string }[] = [];
      for (const f of files) {
        const body = await callApi<{ name: string; version: number; versionId: string }>(
          opts,
          'PUT',
          `/v1/policies/${seg(f.name)}`,
          f.text,
        );
        applied.push(body);
        if (!opts.json) line(`Policy ${body.name} is at version ${body.version} (${body.versionId}).`);
      }
      if (opts.json) printJson(files.length === 1 && statSync(path).isFile() ? applied[0] : { applied });
    });

  named(group.command('sync'))
    .description("read the policy's linked Git file at the head of its branch and store it if it changed")
    .action(async (opts: NameOptions) => {
      const body = await callApi<{ status: string; commit: string; version?: number; error?: string }>(
        opts,
        'POST',
        `/v1/policies/${seg(opts.name)}/sync`,
      );
      if (opts.json) return printJson(body);
      if (body.status === 'synced') {
        return line(`Policy ${opts.name} is at version ${body.version} (commit ${body.commit}).`);
      }
      throw new CliError(
        `Commit ${body.commit} was not stored: ${body.error ?? 'invalid'}`,
        'VALIDATION_ERROR',
        EXIT.client,
      );
    });

  named(group.command('get'))
    .description("print the policy's current version and its document")
    .action(async (opts: NameOptions) => {
      const body = await callApi<VersionView>(opts, 'GET', `/v1/policies/${seg(opts.name)}`);
      if (opts.json) return printJson(body);
      fields([
        ['policy', body.name],
        ['version', body.version],
        ['version id', body.versionId],
        ['created', body.createdAt],
        ['created by', body.createdBy],
      ]);
      line();
      process.stdout.write(pretty(body.document));
    });

  named(group.command('versions'))
    .description('list the stored versions of a policy, newest first')
    .action(async (opts: NameOptions) => {
      const body = await callApi<{ versions: VersionView[] }>(
        opts,
        'GET',
        `/v1/policies/${seg(opts.name)}/versions`,
      );
      if (opts.json) return printJson(body);
      table(
        body.versions,
        [
          { header: 'VERSION', value: (v) => v.version },
          { header: 'ID', value: (v) => v.versionId },
          { header: 'CREATED', value: (v) => v.createdAt },
          { header: 'BY', value: (v) => v.createdBy },
        ],
        'No versions.',
      );
    });

  named(group.command('diff'))
    .description('a unified diff between two stored versions of a policy')
    .argument('<a>', 'the older version: a number (3, v3) or a version id')
    .argument('<b>', 'the newer version: a number or a version id')
    .action(async (a: string, b: string, opts: NameOptions) => {
      const { versions } = await callApi<{ versions: VersionView[] }>(
        opts,
        'GET',
        `/v1/policies/${seg(opts.name)}/versions`,
      );
      const from = pick(versions, a, opts.name);
      const to = pick(versions, b, opts.name);
      const patch = createTwoFilesPatch(
        `${opts.name}@v${from.version}`,
        `${opts.name}@v${to.version}`,
        pretty(from.document),
        pretty(to.document),
        from.versionId,
        to.versionId,
      );
      const same = from.versionId === to.versionId || pretty(from.document) === pretty(to.document);
      if (opts.json) {
        return printJson({
          name: opts.name,
          from: { version: from.version, versionId: from.versionId },
          to: { version: to.version, versionId: to.versionId },
          identical: same,
          patch,
        });
      }
      if (same) return line(`Versions ${from.version} and ${to.version} of ${opts.name} are identical.`);
      process.stdout.write(colourPatch(patch));
    });

  named(group.command('simulate'))
    .description('decide a request against the policy without executing it')
    .argument('<request.json>', 'a file holding {businessId, request, agentId?, at?}')
    .action(async (file: string, opts: NameOptions) => {
      const body = await callApi<{ decision: Decision }>(
        opts,
        'POST',
        `/v1/policies/${seg(opts.name)}/simulate`,
        readFile(file),
      );
      if (opts.json) return printJson(body);
      const { decision } = body;
      fields([
        ['outcome', statusColour(decision.outcome)],
        ['rule', decision.ruleId],
        ['reason', decision.reason],
        [
          'policy',
          decision.policy ? `${decision.policy.name} v${decision.policy.version ?? '-'}` : undefined,
        ],
        ['release at', decision.releaseAt],
        [
          'stages',
          decision.stages?.map((s) => `${s.role ?? '?'}${s.tier ? ` (${s.tier})` : ''}`).join(' → '),
        ],
      ]);
      if (decision.checks?.length) {
        line();
        table(
          decision.checks,
          [
            { header: 'CONTROL', value: (c) => c.control },
            { header: 'ID', value: (c) => c.id },
            { header: 'RESULT', value: (c) => c.result, colour: statusCell },
            { header: 'DETAIL', value: (c) => c.detail },
          ],
          '',
        );
      }
    });
}
