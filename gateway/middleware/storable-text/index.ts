import type { Context, MiddlewareHandler } from 'hono';
import { tryDecodeURIComponent } from 'hono/utils/url';
import { MAX_JSON_DEPTH } from '../../../policy/canonical.ts';
import { GatewayError, unstorableText } from '../../domain/index.ts';
import { routeLabel } from '../metrics/index.ts';

export interface StorableTextOptions {
  /**
   * The body subtrees each route (`METHOD /pattern`) stores as JSON text, as dot paths (`*` is any
   * one key or index). JSON.stringify writes U+0000 as the six characters `\u0000`, so any string in
   * them is kept as sent and is not checked here (lone surrogates there are refused by readJson).
   */
  storedAsJson?: Readonly<Record<string, readonly string[]>>;
  /**
   * The answer on surfaces that do not speak the JSON envelope (pages for people, JSON-RPC), or
   * undefined: the refusal is thrown for onError to answer.
   */
  answer?: (c: Context, refusal: GatewayError) => Response | Promise<Response> | undefined;
  /** At most this many issues are listed. */
  maxIssues?: number;
}

export interface Issue {
  path: string;
  message: string;
}

/**
 * Refuses, with 400 VALIDATION_ERROR naming each field, text no store keeps as sent (domain/text.ts):
 * in the decoded path, any query parameter, any header value, and the body (JSON, or a form), on every
 * route, before any route runs. Checking here rather than in each route's schemas means a new route
 * cannot forget it, and both dialects answer alike. The body is read through HonoRequest, which keeps
 * it for the route's own read: a handler that hands `c.req.raw` on (the MCP transport) takes the body
 * from HonoRequest too.
 */
export function storableText({
  storedAsJson = {},
  answer,
  maxIssues = 20,
}: StorableTextOptions = {}): MiddlewareHandler {
  const stored = new Map(
    Object.entries(storedAsJson).map(([route, paths]) => [route, paths.map((p) => p.split('.'))]),
  );
  return async function storableTextMiddleware(c, next) {
    const issues = [...urlIssues(c), ...headerIssues(c)];
    if (issues.length === 0 && c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      issues.push(...(await bodyIssues(c, stored.get(routeKey(c)) ?? [])));
    }
    if (issues.length === 0) return next();
    const refusal = new GatewayError(
      'VALIDATION_ERROR',
      'The request holds text that cannot be stored: a NUL character (U+0000) or a lone UTF-16 surrogate.',
      issues.slice(0, maxIssues),
    );
    const answered = await answer?.(c, refusal);
    if (answered) return answered;
    throw refusal;
  };
}

/** `METHOD /pattern` of the route that answers (`GET /agp/status/:transactionId`). */
const routeKey = (c: Context) => `${c.req.method} ${routeLabel(c)}`;

/**
 * Path segments and query parameters, decoded exactly as the router and HonoRequest decode them (a run
 * of escapes that is not UTF-8 stays as it is); a URL without `%` holds no NUL (the URL parser escapes it).
 */
function urlIssues(c: Context): Issue[] {
  const url = c.req.url;
  if (!url.includes('%')) return [];
  const issues: Issue[] = [];
  let pattern: string[] | undefined;
  c.req.path.split('/').forEach((segment, i) => {
    const message = unstorableText(tryDecodeURIComponent(segment));
    if (!message) return;
    pattern ??= routeLabel(c).split('/');
    const name = /^:(\w+)/.exec(pattern[i] ?? '')?.[1];
    issues.push({ path: name ? `path.${name}` : 'path', message });
  });
  const end = url.search(/[?#]/);
  if (end !== -1 && url[end] === '?' && url.indexOf('%', end) !== -1) {
    for (const [name, values] of Object.entries(c.req.queries())) {
      const message = unstorableText(name) ?? values.map(unstorableText).find(Boolean);
      if (message) issues.push({ path: `query.${name}`, message });
    }
  }
  return issues;
}

/**
 * Node's parser refuses NUL and other controls in header values before any route runs (RFC 9110
 * §5.5); this holds the same line on any other host, for every header a route or the store may read.
 */
function headerIssues(c: Context): Issue[] {
  const issues: Issue[] = [];
  c.req.raw.headers.forEach((value, name) => {
    const message = unstorableText(value);
    if (message) issues.push({ path: `header.${name}`, message });
  });
  return issues;
}

// JSON carries U+0000 and surrogates only as escapes; a form carries NUL as %00 (or raw in multipart).
const JSON_HINT = /\\u(?:0000|[dD][89a-fA-F])/;
const formHint = (text: string) => text.includes('\u0000') || text.includes('%00');

async function bodyIssues(c: Context, stored: readonly (readonly string[])[]): Promise<Issue[]> {
  const text = await c.req.text();
  const jsonHint = text.includes('\\u') && JSON_HINT.test(text);
  if (!jsonHint && !formHint(text)) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: a form, or nothing any route reads (it refuses it as not JSON).
    return formIssues(c, text);
  }
  return jsonHint ? jsonIssues(json, stored) : [];
}

/** A body the route reads as a form: each field by name (files are not read by any route). */
async function formIssues(c: Context, text: string): Promise<Issue[]> {
  const type = c.req.header('Content-Type') ?? '';
  const media = type.split(';')[0]?.trim().toLowerCase();
  if (media !== 'application/x-www-form-urlencoded' && media !== 'multipart/form-data') return [];
  let form: FormData;
  try {
    form = await new Response(text, { headers: { 'Content-Type': type } }).formData();
  } catch {
    return []; // The route's own parse fails the same way and answers it.
  }
  const issues: Issue[] = [];
  form.forEach((value, name) => {
    const message = unstorableText(name) ?? (typeof value === 'string' ? unstorableText(value) : undefined);
    if (message) issues.push({ path: `body.${name}`, message });
  });
  return issues;
}

interface Node {
  value: unknown;
  parent: Node | null;
  key: string;
  depth: number;
}

const segmentsOf = (node: Node): string[] => {
  const path: string[] = [];
  for (let at: Node | null = node; at?.parent; at = at.parent) path.push(at.key);
  return path.reverse();
};

const matches = (segments: readonly string[], pattern: readonly string[]) =>
  segments.length === pattern.length && pattern.every((p, i) => p === '*' || p === segments[i]);

/** Every string and key of a JSON body outside the stored subtrees, as deep as any route reads one. */
function jsonIssues(value: unknown, stored: readonly (readonly string[])[]): Issue[] {
  const issues: Issue[] = [];
  const deepest = Math.max(0, ...stored.map((p) => p.length));
  const report = (node: Node, message: string) =>
    issues.push({ path: ['body', ...segmentsOf(node)].join('.'), message });
  const stack: Node[] = [{ value, parent: null, key: '', depth: 0 }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const keyMessage = unstorableText(node.key);
    if (keyMessage) {
      report(node, keyMessage);
      continue;
    }
    if (node.depth > 0 && node.depth <= deepest) {
      const segments = segmentsOf(node);
      if (stored.some((p) => matches(segments, p))) continue;
    }
    const v = node.value;
    if (typeof v === 'string') {
      const message = unstorableText(v);
      if (message) report(node, message);
    } else if (v !== null && typeof v === 'object' && node.depth < MAX_JSON_DEPTH) {
      // Deeper is refused by readJson with its own message (routes/validate.ts).
      const depth = node.depth + 1;
      const entries = Array.isArray(v) ? v.map((item, i) => [String(i), item] as const) : Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i] as readonly [string, unknown];
        stack.push({ value: item, parent: node, key, depth });
      }
    }
  }
  return issues;
}
