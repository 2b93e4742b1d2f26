import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Stand-ins of GitHub's and GitLab's REST APIs on port 0, as far as policy as code uses them: a file
 * at a ref (GitHub's contents API with the raw media type; GitLab's repository files raw), a
 * branch's head commit, and GitHub commit statuses. Each checks the token the way its provider
 * takes it (GitHub `Authorization: Bearer`, GitLab `PRIVATE-TOKEN`) and records every request.
 */
export interface GitRequest {
  method: string;
  /** Decoded; `rawPath` as sent (GitLab wants the project and file paths URL-encoded). */
  path: string;
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface GitStandIn {
  /** What to give GITHUB_API_URL or GITLAB_API_URL. */
  apiUrl: string;
  requests: GitRequest[];
  /** `<ref>:<path>` → file text. */
  files: Map<string, string>;
  /** branch → head commit. */
  heads: Map<string, { id: string; name: string; email: string }>;
  statuses: { sha: string; body: Record<string, unknown> }[];
  failWith: number | null;
  close(): Promise<void>;
}

export function startGitHub(repo: string, token: string): Promise<GitStandIn> {
  return start('github', repo, token);
}

export function startGitLab(project: string, token: string): Promise<GitStandIn> {
  return start('gitlab', project, token);
}

async function start(provider: 'github' | 'gitlab', repo: string, token: string): Promise<GitStandIn> {
  const requests: GitRequest[] = [];
  const files = new Map<string, string>();
  const heads = new Map<string, { id: string; name: string; email: string }>();
  const statuses: GitStandIn['statuses'] = [];
  const state = { failWith: null as number | null };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const r: GitRequest = {
        method: req.method ?? '',
        path: decodeURIComponent(url.pathname),
        rawPath: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(r);
      const send = (status: number, body: unknown, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (state.failWith !== null) return send(state.failWith, { message: 'Service unavailable' });
      const authorised =
        provider === 'github'
          ? req.headers.authorization === `Bearer ${token}`
          : req.headers['private-token'] === token;
      if (!authorised)
        return send(401, { message: provider === 'github' ? 'Bad credentials' : '401 Unauthorized' });
      const ref = url.searchParams.get('ref') ?? '';
      if (provider === 'github') {
        const base = `/api/v3/repos/${repo}`;
        if (req.method === 'GET' && r.path.startsWith(`${base}/contents/`)) {
          if (req.headers.accept !== 'application/vnd.github.raw+json')
            return send(415, { message: 'accept' });
          const text = files.get(`${ref}:${r.path.slice(`${base}/contents/`.length)}`);
          return text === undefined
            ? send(404, { message: 'Not Found' })
            : send(200, text, 'application/vnd.github.raw');
        }
        if (req.method === 'GET' && r.path.startsWith(`${base}/commits/`)) {
          const head = heads.get(r.path.slice(`${base}/commits/`.length));
          if (!head) return send(404, { message: 'No commit found for SHA' });
          return send(200, { sha: head.id, commit: { author: { name: head.name, email: head.email } } });
        }
        if (req.method === 'POST' && r.path.startsWith(`${base}/statuses/`)) {
          statuses.push({ sha: r.path.slice(`${base}/statuses/`.length), body: JSON.parse(r.body) });
          return send(201, { id: statuses.length, state: JSON.parse(r.body).state });
        }
        return send(404, { message: 'Not Found' });
      }
      // GitLab: the project id or its URL-encoded path, then the URL-encoded file path.
      const base = `/api/v4/projects/${repo}/repository`;
      if (req.method === 'GET' && r.path.startsWith(`${base}/files/`) && r.path.endsWith('/raw')) {
        const path = r.path.slice(`${base}/files/`.length, -'/raw'.length);
        const text = files.get(`${ref}:${path}`);
        return text === undefined
          ? send(404, { message: '404 File Not Found' })
          : send(200, text, 'text/plain');
      }
      if (req.method === 'GET' && r.path.startsWith(`${base}/commits/`)) {
        const head = heads.get(r.path.slice(`${base}/commits/`.length));
        if (!head) return send(404, { message: '404 Commit Not Found' });
        return send(200, { id: head.id, author_name: head.name, author_email: head.email });
      }
      return send(404, { message: '404 Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}${provider === 'github' ? '/api/v3' : '/api/v4'}`,
    requests,
    files,
    heads,
    statuses,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
