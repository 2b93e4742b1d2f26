import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { type EnvInput, loadConfig } from '../../config/index.ts';
import { createGateway, type Gateway } from '../../gateway/app.ts';
import { answerClientErrors } from '../../gateway/client-errors.ts';
import { openDatabase } from '../../gateway/db/open.ts';
import type { Db } from '../../gateway/db/types.ts';
import { OPERATOR, type Scope } from '../../gateway/domain/index.ts';
import { type ServiceContext, systemContext } from '../../gateway/services/context.ts';
import { sequenceLedger } from '../../gateway/services/sequencer/sequencer.ts';
import { registerBusiness } from '../../gateway/services/tenancy/businesses.ts';
import { createAgentKey } from '../../gateway/services/tenancy/keys.ts';
import { createWorkspace } from '../../gateway/services/tenancy/workspaces.ts';
import { type Dialect, openTestDb } from './dialects.ts';

export const ADMIN_TOKEN = 'operator-token-for-tests-0123456789';
/** SECRETS_KEY of every test gateway and replica: gateways sharing a database share it too. */
export const TEST_SECRETS_KEY = 'test-secrets-key-0123456789abcdef-0123456789';

/** A fresh SQLite file per call: tests never share a database (STYLE: a fresh database per file). */
export function tempDatabaseUrl(): { url: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-test-'));
  return {
    url: `file:${join(dir, 'warden.db')}`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TestGateway extends Gateway {
  /** A manual clock: tests move time with `advance`. */
  now: { value: number; advance(ms: number): void };
  db: Db;
  url: string;
  dispose(): Promise<void>;
}

export interface TestGatewayOptions {
  env?: Partial<Record<keyof EnvInput, string>>;
  /** Share a database with another gateway (same file, own connections unless given). */
  db?: Db;
  databaseUrl?: string;
  realClock?: boolean;
  /** The dialect of the fresh database (default sqlite); not used with `db` or `databaseUrl`. */
  dialect?: Dialect;
  /** A logger to read what the gateway logs (silent by default). */
  logger?: Logger;
  /**
   * Check every answer against /openapi.json (default true). Off only where the test times the
   * gateway as production runs it (issue 18: validating a large answer takes milliseconds).
   */
  checkResponses?: boolean;
  /** A certificate authority (PEM) the OAuth client-metadata fetches trust (a loopback HTTPS stand-in). */
  outboundCa?: string;
}

/** A gateway on a fresh database (a SQLite file unless `dialect` says otherwise) with a manual clock. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const fresh = options.databaseUrl || options.db ? undefined : await openTestDb(options.dialect ?? 'sqlite');
  const databaseUrl = options.databaseUrl ?? fresh?.url ?? 'file:unused';
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
    DATABASE_URL: databaseUrl,
    // Secrets at rest are sealed in every test, as in production (issue 10).
    SECRETS_KEY: TEST_SECRETS_KEY,
    ...options.env,
  });
  const db = options.db ?? fresh?.db ?? (await openDatabase(databaseUrl));
  const now = {
    value: Date.parse('2026-11-24T12:00:00Z'),
    advance(ms: number) {
      now.value += ms;
    },
  };
  const gateway = await createGateway({
    config,
    db,
    jobs: false,
    logger: options.logger,
    clock: options.realClock ? Date.now : () => now.value,
    // Every answer in every test is checked against /openapi.json (issue 11).
    checkResponses: options.checkResponses ?? true,
    outboundCa: options.outboundCa,
  });
  return {
    ...gateway,
    now,
    db,
    url: 'http://gateway.test',
    async dispose() {
      await gateway.close();
      if (fresh) await fresh.dispose();
      else if (!options.db) await db.close();
    },
  };
}

export interface Tenant {
  workspaceId: string;
  adminToken: string;
  agentKey: string;
  agentKeyId: string;
}

/** The operator acting on a gateway, outside any request. */
export const operator = (gw: Gateway): ServiceContext => ({
  deps: gw.deps,
  workspaceId: null,
  actor: OPERATOR,
});

/** A member (or the system) acting in a workspace, outside any request. */
export const inWorkspace = (
  gw: Gateway,
  workspaceId: string,
  memberId: string | null = null,
): ServiceContext => ({
  deps: gw.deps,
  workspaceId,
  actor: memberId ? { type: 'member', id: memberId } : { type: 'system', id: null },
});

/** A workspace with an admin member and one agent key, made through the services (no seeded ids). */
export async function createTenant(
  gw: Gateway,
  options: { name?: string; agentId?: string; scopes?: Scope[] } = {},
): Promise<Tenant> {
  const { workspace, adminToken, adminMemberId } = await createWorkspace({
    ctx: operator(gw),
    input: {
      name: options.name ?? 'Acme',
      adminEmail: `admin+${Math.random().toString(36).slice(2)}@acme.test`,
    },
  });
  const key = await createAgentKey({
    ctx: inWorkspace(gw, workspace.id, adminMemberId),
    input: { agentId: options.agentId ?? 'agent-1', scopes: options.scopes },
  });
  return { workspaceId: workspace.id, adminToken, agentKey: key.key, agentKeyId: key.id };
}

export async function addAgentKey(gw: Gateway, tenant: Tenant, agentId = 'agent-2'): Promise<string> {
  const key = await createAgentKey({ ctx: inWorkspace(gw, tenant.workspaceId), input: { agentId } });
  return key.key;
}

export async function registerEcho(gw: Gateway, id = 'echo'): Promise<string> {
  await registerBusiness({
    ctx: operator(gw),
    input: { id, name: `Echo ${id}`, category: 'demo', adapter: { type: 'echo' } },
  });
  return id;
}

export async function registerHttpBusiness(
  gw: Gateway,
  baseUrl: string,
  id = 'shop',
  category = 'retail',
): Promise<{ id: string; signingSecret: string; businessKey: string }> {
  const { signingSecret, businessKey } = await registerBusiness({
    ctx: operator(gw),
    input: { id, name: `Shop ${id}`, category, adapter: { type: 'http', baseUrl } },
  });
  return { id, signingSecret, businessKey };
}

export interface CallOptions {
  key?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** One in-process HTTP call to the gateway (`app.request`), JSON in and out. */
export async function call(
  gw: Gateway,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.Authorization = `Bearer ${options.key}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] = 'application/json';
  }
  const res = await gw.app.request(path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

/** The gateway on a real socket, port 0. */
export async function listen(gw: Gateway): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: gw.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    answerClientErrors(server);
  });
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Upstream {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A real business on port 0 that records what it receives and answers with `handler`. */
export async function startUpstream(
  handler: (req: RecordedRequest, res: ServerResponse) => void | Promise<void> = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'succeeded', data: { ok: true } }));
  },
): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      void handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Runs the ledger log's sequencer once, as its job would (tests build gateways with `jobs: false`):
 * every committed receipt and audit event is appended and a checkpoint signed. Answers how many.
 */
export function sequence(gw: Gateway): Promise<number> {
  return sequenceLedger({ ctx: systemContext(gw.deps) });
}
