import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { getRequestListener } from '@hono/node-server';
import { SMTPServer } from 'smtp-server';
import {
  call,
  startTestGateway,
  type Tenant,
  type TestGateway,
  type TestGatewayOptions,
} from '../support/harness.ts';

/** Polls until `probe` answers something truthy, or fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error('waitFor: timed out');
    await sleep(25);
  }
}

// ── a real SMTP server ───────────────────────────────────────────────────────

export interface Mail {
  to: string[];
  subject: string;
  text: string;
  raw: string;
}

export interface SmtpCapture {
  url: string;
  messages: Mail[];
  /** The next message to `to` (after `after` messages) whose text matches. */
  next(to: string, options?: { after?: number; timeoutMs?: number }): Promise<Mail>;
  close(): Promise<void>;
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const soft = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i += 1) {
    const ch = soft[i] ?? '';
    const hex = soft.slice(i + 1, i + 3);
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A single-part text message as nodemailer writes it: headers, then the body in its encoding. */
export function parseMail(raw: string, to: string[]): Mail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) =>
    head
      .split('\r\n')
      .find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
      ?.slice(name.length + 1)
      .trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? decodeQuotedPrintable(body)
      : encoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
        : body;
  return { to, subject: header('Subject'), text: text.replace(/\r\n/g, '\n'), raw };
}

/** The `smtp-server` package on port 0, plain SMTP (no STARTTLS, no AUTH), keeping every message. */
export async function startSmtp(): Promise<SmtpCapture> {
  const messages: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        messages.push(parseMail(Buffer.concat(chunks).toString('utf8'), to));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    next(to, options = {}) {
      return waitFor(
        () => messages.slice(options.after ?? 0).find((m) => m.to.includes(to)),
        options.timeoutMs ?? 5000,
      );
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const LINK = /https?:\/\/[^\s/]+\/approve\/wal_[A-Za-z0-9_-]{43}/;

export function linkIn(mail: Mail): string {
  const found = LINK.exec(mail.text)?.[0];
  if (!found) throw new Error(`no approval link in: ${mail.text}`);
  return found;
}

export function csrfIn(html: string): string {
  const found = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!found) throw new Error('no csrf field in the page');
  return found;
}

/** Posts an HTML form the way a browser does (urlencoded, with its Origin). */
export async function postForm(
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; html: string; location: string | null }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin, ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

// ── the gateway on a real socket ─────────────────────────────────────────────

export interface LiveGateway {
  gw: TestGateway;
  url: string;
  close(): Promise<void>;
}

/**
 * A test gateway on a real socket, port 0. The socket is bound first so PUBLIC_BASE_URL (the base
 * of the links in emails) can point at it.
 */
export async function startLiveGateway(options: TestGatewayOptions = {}): Promise<LiveGateway> {
  let fetcher: (request: Request) => Response | Promise<Response> = () =>
    new Response('starting', { status: 503 });
  const server: Server = createServer(getRequestListener((request) => fetcher(request)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const gw = await startTestGateway({ ...options, env: { PUBLIC_BASE_URL: url, ...options.env } });
  fetcher = (request) => gw.app.fetch(request);
  return {
    gw,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gw.dispose();
    },
  };
}

// ── a real webhook receiver ──────────────────────────────────────────────────

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: ReceivedHook[];
  close(): Promise<void>;
}

/** Answers each request with the next status of `statuses` (the last one repeats). */
export async function startReceiver(statuses: number[]): Promise<Receiver> {
  const received: ReceivedHook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status >= 300 ? 'receiver says no' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function headerRecord(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

// ── workspace fixtures over the API ──────────────────────────────────────────

/** Adds a member through the API and answers its token. */
export async function addMember(
  gw: TestGateway,
  tenant: Tenant,
  email: string,
  role: string,
): Promise<string> {
  const res = await call(gw, 'POST', '/v1/members', { key: tenant.adminToken, body: { email, role } });
  if (res.status !== 201) throw new Error(`member: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/** Stores a policy and answers an agent key bound to it. */
export async function policyKey(
  gw: TestGateway,
  tenant: Tenant,
  name: string,
  document: unknown,
): Promise<string> {
  const put = await call(gw, 'PUT', `/v1/policies/${name}`, { key: tenant.adminToken, body: document });
  if (put.status !== 201) throw new Error(`policy: ${put.status} ${JSON.stringify(put.body)}`);
  const res = await call(gw, 'POST', '/v1/keys', {
    key: tenant.adminToken,
    body: { agentId: `agent-${name}`, policy: name },
  });
  return res.body.key as string;
}

export const stage = (index: number, role: string, extra: Record<string, unknown> = {}) => ({
  stage_index: index,
  role,
  tier: 'standard',
  quorum: 1,
  approval_timeout_seconds: 3600,
  on_approval_timeout: 'reject',
  ...extra,
});

/** Every stage of `stages`, in order, for every request. */
export const stagedPolicy = (stages: ReturnType<typeof stage>[]) => ({
  default_action: 'reject',
  rules: [
    {
      id: 'needs-people',
      priority: 1,
      conditions: [{ context: 'amount', op: 'gte', value: 0 }],
      action: 'multi_stage',
      routing_stage_indexes: stages.map((s) => s.stage_index),
      reason: 'Every order needs a human',
    },
  ],
  routing_stages: stages,
});

export async function park(
  gw: TestGateway,
  key: string,
  request: Record<string, unknown>,
  businessId = 'shop',
): Promise<{ transactionId: string; approvalId: string }> {
  const res = await call(gw, 'POST', '/agp/execute', { key, body: { businessId, request } });
  if (res.status !== 202) throw new Error(`execute: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    transactionId: res.body.transactionId as string,
    approvalId: (res.body.approval as { id: string }).id,
  };
}
