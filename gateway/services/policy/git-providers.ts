import type { Config } from '../../../config/index.ts';
import type { PolicySource } from '../../domain/index.ts';

/**
 * Issue 23: the two Git providers' REST APIs, as far as policy as code needs them: a file at a
 * commit, a branch's head commit, and (GitHub) a commit status. Base URLs come from GITHUB_API_URL
 * and GITLAB_API_URL, so self-hosted instances work the same.
 */

/** What a provider answered: the file's text, or that it is not there (a report, not a retry). */
export type FileAt = { found: true; text: string } | { found: false };

export interface Commit {
  id: string;
  author: string | null;
}

/** The provider failed or could not be reached: worth trying again later. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
}

const TIMEOUT_MS = 10_000;
const MAX_FILE_BYTES = 1024 * 1024;

interface Access {
  config: Pick<Config, 'githubApiUrl' | 'gitlabApiUrl'>;
  source: Pick<PolicySource, 'provider' | 'repository' | 'path'>;
  /** The opened token, when the source has one. */
  token: string | null;
}

function headers(a: Access, accept: string): Record<string, string> {
  const h: Record<string, string> = { accept, 'user-agent': 'Warden-Policy-Sync/1' };
  if (a.source.provider === 'github') {
    h['x-github-api-version'] = '2022-11-28';
    if (a.token) h.authorization = `Bearer ${a.token}`;
  } else if (a.token) {
    h['private-token'] = a.token;
  }
  return h;
}

const enc = encodeURIComponent;
/** `owner/repo` as two escaped path segments. */
const githubRepo = (repository: string) => repository.split('/').map(enc).join('/');

async function get(url: string, h: Record<string, string>): Promise<Response> {
  try {
    return await fetch(url, { headers: h, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
  } catch (error) {
    throw new ProviderError(`${new URL(url).host} could not be reached: ${(error as Error).message}`);
  }
}

async function failed(res: Response): Promise<ProviderError> {
  const text = (await res.text().catch(() => '')).slice(0, 200);
  return new ProviderError(`HTTP ${res.status}${text ? `: ${text}` : ''}`);
}

/** The file's text at `ref` (GitHub contents API, raw media type; GitLab repository files raw). */
export async function fileAt(a: Access, ref: string): Promise<FileAt> {
  const { source, config } = a;
  const url =
    source.provider === 'github'
      ? `${config.githubApiUrl}/repos/${githubRepo(source.repository)}/contents/${source.path
          .split('/')
          .map(enc)
          .join('/')}?ref=${enc(ref)}`
      : `${config.gitlabApiUrl}/projects/${enc(source.repository)}/repository/files/${enc(source.path)}/raw?ref=${enc(ref)}`;
  const res = await get(url, headers(a, 'application/vnd.github.raw+json'));
  if (res.status === 404) return { found: false };
  if (!res.ok) throw await failed(res);
  const text = await res.text();
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) return { found: true, text: '' };
  return { found: true, text };
}

/** The head commit of `branch` (manual sync), with its author. */
export async function headCommit(a: Access, branch: string): Promise<Commit | undefined> {
  const { source, config } = a;
  if (source.provider === 'github') {
    const res = await get(
      `${config.githubApiUrl}/repos/${githubRepo(source.repository)}/commits/${enc(branch)}`,
      headers(a, 'application/vnd.github+json'),
    );
    if (res.status === 404 || res.status === 422) return undefined;
    if (!res.ok) throw await failed(res);
    const body = (await res.json()) as {
      sha?: string;
      commit?: { author?: { name?: string; email?: string } };
    };
    if (!body.sha) throw new ProviderError('GitHub answered without a commit sha.');
    return { id: body.sha, author: author(body.commit?.author?.name, body.commit?.author?.email) };
  }
  const res = await get(
    `${config.gitlabApiUrl}/projects/${enc(source.repository)}/repository/commits/${enc(branch)}`,
    headers(a, 'application/json'),
  );
  if (res.status === 404) return undefined;
  if (!res.ok) throw await failed(res);
  const body = (await res.json()) as { id?: string; author_name?: string; author_email?: string };
  if (!body.id) throw new ProviderError('GitLab answered without a commit id.');
  return { id: body.id, author: author(body.author_name, body.author_email) };
}

/** `Name <email>`, or whichever part there is. */
export function author(name: string | undefined, email: string | undefined): string | null {
  if (name && email) return `${name} <${email}>`;
  return name ?? email ?? null;
}

/**
 * A commit status on GitHub (`POST /repos/{owner}/{repo}/statuses/{sha}`, context `warden/policy`),
 * so the push's author sees in GitHub whether the policy was stored. Needs a token with the
 * statuses permission; without a token nothing is sent.
 */
export async function commitStatus(
  a: Access,
  sha: string,
  status: { state: 'success' | 'failure'; description: string; targetUrl?: string },
): Promise<void> {
  if (a.source.provider !== 'github' || !a.token) return;
  let res: Response;
  try {
    res = await fetch(
      `${a.config.githubApiUrl}/repos/${githubRepo(a.source.repository)}/statuses/${enc(sha)}`,
      {
        method: 'POST',
        headers: { ...headers(a, 'application/vnd.github+json'), 'content-type': 'application/json' },
        body: JSON.stringify({
          state: status.state,
          context: 'warden/policy',
          description: status.description.slice(0, 140),
          ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
        }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      },
    );
  } catch (error) {
    throw new ProviderError(`GitHub could not be reached: ${(error as Error).message}`);
  }
  if (!res.ok) throw await failed(res);
}
