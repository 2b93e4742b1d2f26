import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import canonicalize from 'canonicalize';
import { Hono } from 'hono';
import Database from 'libsql';
import { Agent } from 'undici';
import { newId } from '../../gateway/ids.ts';
import { announceReady, onStop, requireEnv } from '../lib/child.ts';

/**
 * The least an execute needs, as a yardstick for the gateway (issue 9): three indexed reads (key,
 * business, policy pointer) through native prepared statements, parse and RFC 8785 hash of the
 * request, an HMAC-signed forward over undici, and two group-committed writes in WAL mode (insert
 * before forwarding, update after). No validation, no policy, no idempotency, no logging.
 */
const upstream = new URL(requireEnv('UPSTREAM_URL'));
const agent = new Agent({ keepAliveTimeout: 4_000 });
const db = new Database(join(mkdtempSync(join(tmpdir(), 'warden-minimal-')), 'minimal.db'));
db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
  CREATE TABLE keys (hash TEXT PRIMARY KEY, workspace TEXT NOT NULL);
  CREATE TABLE businesses (id TEXT PRIMARY KEY, secret TEXT NOT NULL);
  CREATE TABLE policies (workspace TEXT, name TEXT, version TEXT, PRIMARY KEY (workspace, name));
  CREATE TABLE ledger (id TEXT PRIMARY KEY, workspace TEXT, business TEXT, hash TEXT, status TEXT, data TEXT);`);
const KEY = 'wk_minimal_bench_key';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
db.prepare('INSERT INTO keys VALUES (?, ?)').run(sha(KEY), 'ws_1');
db.prepare('INSERT INTO businesses VALUES (?, ?)').run('shop', 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=');
const keyRead = db.prepare('SELECT workspace FROM keys WHERE hash = ?').raw();
const businessRead = db.prepare('SELECT secret FROM businesses WHERE id = ?').raw();
const policyRead = db.prepare('SELECT version FROM policies WHERE workspace = ? AND name = ?').raw();
const insert = db.prepare('INSERT INTO ledger VALUES (?, ?, ?, ?, ?, NULL)');
const update = db.prepare('UPDATE ledger SET status = ?, data = ? WHERE id = ?');
const begin = db.prepare('BEGIN');
const commit = db.prepare('COMMIT');

// Group commit: the writes of one event-loop turn share one transaction.
let queue: { write: () => void; done: () => void }[] = [];
const flush = () => {
  const batch = queue;
  queue = [];
  begin.run();
  for (const job of batch) job.write();
  commit.run();
  for (const job of batch) job.done();
};
const write = (fn: () => void) =>
  new Promise<void>((done) => {
    if (queue.push({ write: fn, done }) === 1) setImmediate(flush);
  });

const app = new Hono();
app.post('/agp/execute', async (c) => {
  const key = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
  const [workspace] = (keyRead.get(sha(key)) as [string] | undefined) ?? [];
  if (!workspace) return c.json({ error: 'unauthorized' }, 401);
  const body = JSON.parse(await c.req.text()) as { businessId: string; request: unknown };
  const [secret] = (businessRead.get(body.businessId) as [string] | undefined) ?? [];
  if (!secret) return c.json({ error: 'no business' }, 400);
  policyRead.get(workspace, 'default');
  const hash = sha(canonicalize(body.request) ?? '');
  const id = newId('transaction');
  await write(() => insert.run(id, workspace, body.businessId, hash, 'pending'));
  const payload = JSON.stringify({ businessId: body.businessId, request: body.request, transactionId: id });
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', Buffer.from(secret, 'base64'))
    .update(`${id}.${timestamp}.${payload}`)
    .digest('base64');
  const res = await agent.request({
    origin: upstream.origin,
    path: '/agp/execute',
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${signature}`,
    },
    body: payload,
  });
  const answer = (await res.body.json()) as { status: string; data: unknown };
  await write(() => update.run(answer.status, JSON.stringify(answer.data), id));
  return c.json({ transactionId: id, status: answer.status, data: answer.data });
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  announceReady({ port: info.port, key: KEY });
});
onStop(async () => {
  await new Promise<void>((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
  await agent.close();
  db.close();
});
