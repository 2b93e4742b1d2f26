import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { Dispatcher } from 'undici';
import { CliError, EXIT, type RemoteOptions, refusal, remote, unreachable } from './api.ts';
import { line, printJson } from './output.ts';

/** A gateway that stops sending mid-archive fails the command instead of hanging it. */
const TIMEOUT_MS = 30_000;

interface ExportOptions extends RemoteOptions {
  from: string;
  to: string;
  out?: string;
}

/** The gateway's file name (Content-Disposition), reduced to a plain name in the current directory. */
function suggested(disposition: unknown): string | undefined {
  const name = typeof disposition === 'string' ? /filename="([^"]+)"/.exec(disposition)?.[1] : undefined;
  const plain = name ? basename(name) : undefined;
  return plain && /^[\w.-]+$/.test(plain) ? plain : undefined;
}

/**
 * Streams a file answer to `out` (or the name the gateway suggests): written beside it as
 * `<file>.partial` and renamed once complete, so a cut download never leaves a file that looks whole.
 */
async function download(options: RemoteOptions, path: string, out: string | undefined) {
  if (!options.token) {
    throw new CliError('No token: pass --token or set WARDEN_TOKEN.', 'UNAUTHORIZED', EXIT.auth);
  }
  const { request } = await import('undici');
  let answer: Dispatcher.ResponseData;
  try {
    answer = await request(`${options.url}${path}`, {
      method: 'GET',
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/zip, application/json' },
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
  } catch (error) {
    throw unreachable(options.url, error);
  }
  if (answer.statusCode >= 400) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await answer.body.text());
    } catch {
      parsed = undefined;
    }
    throw refusal(answer.statusCode, parsed);
  }
  const type = String(answer.headers['content-type'] ?? '');
  if (!type.startsWith('application/zip')) {
    await answer.body.dump();
    throw new CliError(
      `The gateway answered ${type || 'no content type'}, not a ZIP.`,
      'BAD_ANSWER',
      EXIT.server,
    );
  }
  const file = out ?? suggested(answer.headers['content-disposition']) ?? 'compliance.zip';
  const partial = `${file}.partial`;
  let bytes = 0;
  answer.body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  try {
    await pipeline(answer.body, createWriteStream(partial));
  } catch (error) {
    rmSync(partial, { force: true });
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `The download stopped before the end (${reason}).`,
      'DOWNLOAD_INCOMPLETE',
      EXIT.server,
    );
  }
  renameSync(partial, file);
  return { file, bytes };
}

/** `warden export …`: reports downloaded from the gateway (admins). */
export function registerExportCommands(program: Command): void {
  const group = program
    .command('export')
    .description('download reports from the gateway (admin member token)');

  remote(group.command('compliance'))
    .description(
      'the compliance ZIP for a period: README.md (SOC 2, ISO 27001, EU AI Act Art. 14), CSV extracts, audit verification, manifest',
    )
    .requiredOption('--from <time>', 'start of the period, inclusive (ISO 8601, e.g. 2026-01-01T00:00:00Z)')
    .requiredOption('--to <time>', 'end of the period, exclusive (at most 366 days after --from)')
    .option('--out <file>', "where to write the ZIP (default: the gateway's file name, in this directory)")
    .action(async (opts: ExportOptions) => {
      const query = new URLSearchParams({ from: opts.from, to: opts.to });
      const written = await download(opts, `/v1/reports/compliance.zip?${query}`, opts.out);
      if (opts.json) return printJson(written);
      line(`Wrote ${written.file} (${written.bytes.toLocaleString('en-US')} bytes).`);
    });
}
