import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Dispatcher } from 'undici';

/** The exit codes of `warden` (README "The warden CLI", and `warden --help`). */
export const EXIT = {
  ok: 0,
  /** the gateway refused the request: a 4xx other than 401, 403 and 404 (validation, conflict) */
  client: 1,
  /** the command line itself is wrong (commander's usage errors) */
  usage: 2,
  /** 401 or 403: no token, a wrong one, or a role that may not do this */
  auth: 3,
  /** 404: no such workspace, key, member, policy, version, approval or transaction */
  notFound: 4,
  /** 5xx, or the gateway could not be reached (connection refused, timeout) */
  server: 5,
} as const;

/**
 * An expected failure: printed as one line, `warden: <sentence> (<CODE>)`, never with a stack, and
 * the process exits with `exitCode`.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** What every remote command is given: where the gateway is, whose token, and how to print. */
export interface RemoteOptions {
  url: string;
  token?: string;
  json?: boolean;
}

const DEFAULT_URL = 'http://localhost:8080';
/** A gateway that accepts the connection but never answers fails the command, not hangs it. */
const TIMEOUT_MS = 30_000;

function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('must be an http:// or https:// URL.');
  }
  return value.replace(/\/+$/, '');
}

/**
 * `--url` on a command that works on this host unless told otherwise (the verify commands): no
 * default and no WARDEN_URL, so a shell that has one set never sends a local check elsewhere.
 */
export const remoteUrlOption = (): Option =>
  new Option('--url <url>', 'verify against this gateway instead of the local database').argParser(parseUrl);

/** `--url`, `--token` (or WARDEN_URL, WARDEN_TOKEN) and `--json` on a command that calls a gateway. */
export function remote(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'base URL of the gateway')
        .env('WARDEN_URL')
        .default(DEFAULT_URL)
        .argParser(parseUrl),
    )
    .addOption(
      new Option('--token <token>', 'operator token (WARDEN_ADMIN_TOKEN) or member token').env(
        'WARDEN_TOKEN',
      ),
    )
    .option('--json', "print the gateway's JSON answer instead of a table");
}

interface ErrorEnvelope {
  error?: unknown;
  code?: unknown;
  details?: unknown;
}

/** The exit code a gateway answer's status maps to. */
export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status >= 500) return EXIT.server;
  return EXIT.client;
}

/** Validation issues (`[{path, message}]`) appended to the one line, so the fix is visible. */
function issues(details: unknown): string {
  if (!Array.isArray(details)) return '';
  const parts = details
    .filter((d): d is { path?: unknown; message: string } => typeof d?.message === 'string')
    .slice(0, 3)
    .map((d) => (typeof d.path === 'string' && d.path ? `${d.path}: ${d.message}` : d.message));
  return parts.length > 0 ? ` [${parts.join('; ')}]` : '';
}

export function refusal(status: number, body: unknown): CliError {
  const envelope = (body && typeof body === 'object' ? body : {}) as ErrorEnvelope;
  const message =
    typeof envelope.error === 'string'
      ? envelope.error
      : `The gateway answered ${status} without an error body.`;
  const code = typeof envelope.code === 'string' ? envelope.code : `HTTP_${status}`;
  return new CliError(`${message}${issues(envelope.details)}`, code, exitCodeForStatus(status));
}

/** Connection refused, unknown host, timeouts: undici and node:net errors by code (STYLE 7). */
export function unreachable(url: string, error: unknown): CliError {
  const first =
    error instanceof AggregateError && error.errors.length > 0 ? (error.errors[0] as unknown) : error;
  const code = (error as { code?: unknown })?.code ?? (first as { code?: unknown })?.code ?? 'NETWORK_ERROR';
  return new CliError(`Cannot reach the gateway at ${url}.`, String(code), EXIT.server);
}

/**
 * One call to the gateway with undici: JSON in, JSON out. A refusal becomes a CliError carrying the
 * gateway's own sentence and code; a 204 answers `undefined`.
 */
export async function callApi<T = Record<string, unknown>>(
  options: RemoteOptions,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  if (!options.token) {
    throw new CliError('No token: pass --token or set WARDEN_TOKEN.', 'UNAUTHORIZED', EXIT.auth);
  }
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.token}`,
    accept: 'application/json',
  };
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  // Loaded here: local commands and --help never pay for undici.
  const { request } = await import('undici');
  let answer: Dispatcher.ResponseData;
  try {
    answer = await request(`${options.url}${path}`, {
      method,
      headers,
      body: payload,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
  } catch (error) {
    throw unreachable(options.url, error);
  }
  let text: string;
  try {
    text = await answer.body.text();
  } catch (error) {
    throw unreachable(options.url, error);
  }
  let parsed: unknown;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (answer.statusCode >= 400) throw refusal(answer.statusCode, parsed);
  if (text !== '' && parsed === undefined) {
    throw new CliError(
      `The gateway answered ${answer.statusCode} with a body that is not JSON.`,
      'BAD_ANSWER',
      EXIT.server,
    );
  }
  return parsed as T;
}

/** A path segment from the command line, encoded so an id cannot change the path. */
export const seg = (value: string): string => encodeURIComponent(value);
