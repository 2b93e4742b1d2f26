import { readFileSync } from 'node:fs';
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
    .description('store a policy document as a new immutable version (an identical one changes nothing)')
    .argument('<file>', 'the policy document (JSON)')
    .action(async (file: string, opts: NameOptions) => {
      const document = readFile(file);
      const body = await callApi<{ name: string; version: number; versionId: string }>(
        opts,
        'PUT',
        `/v1/policies/${seg(opts.name)}`,
        document,
      );
      if (opts.json) return printJson(body);
      line(`Policy ${body.name} is at version ${body.version} (${body.versionId}).`);
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
