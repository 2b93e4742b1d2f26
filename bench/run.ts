import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { ledgerCounts } from './lib/ledger.ts';
import {
  autocannonLoad,
  type HttpTarget,
  type LoadResult,
  type LoadSettings,
  workerLoad,
} from './lib/load.ts';
import { cpuProfilesIn, type ProfileSummary, summariseCpuProfile } from './lib/profile.ts';
import { type ServerHandle, startServer } from './lib/spawn.ts';
import { fmt, formatTable } from './lib/table.ts';
import { haveWrk, wrkLoad, wrkPairs } from './lib/wrk.ts';
import { benchMetricsCost } from './metrics-cost.ts';
import { benchReadPath } from './read-path.ts';
import { benchReceiptCost } from './receipt-cost.ts';

/**
 * `npm run bench`: throughput of the execute path against its ceilings, measured, never a test.
 * Every server runs in its own process; the load generator (autocannon, or undici workers for flows)
 * runs here: wrk (one thread) when installed, else autocannon. Every scenario runs BENCH_ROUNDS times
 * (3), interleaved, and the tables report medians; the issue-9 floors compare scenarios within each
 * round. Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (32), BENCH_WARMUP (s, 2),
 * BENCH_ONLY (comma-separated scenario ids; also policy-evaluator, receipt-cost, metrics-cost),
 * BENCH_PROFILE=1 (--cpu-prof the gateway children and print their hot spots; the figures of a
 * profiled run are lower than real ones), BENCH_KEEP_TMP=1 (keep the temp dir with databases, logs
 * and profiles). gateway-open-no-metrics is gateway-open with METRICS_ENABLED=false (issue 11).
 * gateway-open-echo and gateway-open-module: the in-process echo adapter against a module adapter in its
 * worker (bench/adapters/echo-module.mjs), the cost of isolating modules (issue 12).
 * read-path (issue 18, bench/read-path.ts): the summary and the analytics at 100,000 transactions,
 * alone and beside the open execute load, with the gateway's event-loop delay (BENCH_READERS).
 */

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

const settings: LoadSettings = {
  duration: numberFromEnv('BENCH_DURATION', 10),
  connections: Math.max(1, Math.round(numberFromEnv('BENCH_CONNECTIONS', 32))),
  warmup: numberFromEnv('BENCH_WARMUP', 2),
};
const only = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
/** Rounds of every scenario, interleaved; the tables report each figure's median (this VM is noisy). */
const rounds = Math.max(1, Math.round(numberFromEnv('BENCH_ROUNDS', 3)));
/** wrk (one thread, as issue 9 measured) when it is installed, else autocannon in this process. */
const useWrk = process.env.BENCH_LOAD !== 'autocannon' && haveWrk();
const httpLoad = (target: HttpTarget, s: LoadSettings) =>
  useWrk ? wrkLoad(target, s) : autocannonLoad(target, s);
const profiling = process.env.BENCH_PROFILE === '1';
/** Production requires SECRETS_KEY (issue 10); every gateway of a run shares this one. */
const BENCH_SECRETS_KEY = 'bench-secrets-key-0123456789abcdef-0123456789';
/** Production logs every request: the gateway runs at info, its stdout appended to a file. */
const GATEWAY_LOG_LEVEL = 'info';

const BUSINESS_ID = 'shop';
const AGENT_BODY = JSON.stringify({ businessId: BUSINESS_ID, request: { sku: 'x', amount_cents: 50 } });
/** What the gateway's http adapter sends upstream for that body (plus its signature headers). */
const FORWARDED_BODY = JSON.stringify({
  businessId: BUSINESS_ID,
  request: { sku: 'x', amount_cents: 50 },
  transactionId: 'tx_01JBENCH0000000000000000000',
});
const SUCCEEDED = '"status":"succeeded"';

// ---------------------------------------------------------------------------------------------------------
// Scenarios. A new one is an entry in SCENARIOS; a gateway variant is a gatewayScenario({...}) call
// (another DATABASE_URL such as postgres://, a BENCH_GATEWAY_SETUP module that installs a policy, …).

interface ScenarioContext {
  upstream: ServerHandle;
  settings: LoadSettings;
  /** A fresh temp directory for this scenario (database, logs, profiles); removed at the end. */
  dir: string;
  profiling: boolean;
}

interface ScenarioRun {
  load: LoadResult;
  notes: string[];
  data?: Record<string, unknown>;
  profile?: ProfileSummary;
}

interface Scenario {
  id: string;
  label: string;
  unit: 'req/s' | 'pairs/s';
  run(ctx: ScenarioContext): Promise<ScenarioRun>;
}

const direct: Scenario = {
  id: 'direct',
  label: 'direct upstream',
  unit: 'req/s',
  run: async ({ upstream, settings }) => ({
    load: await httpLoad(
      { url: upstream.url, path: '/agp/execute', body: FORWARDED_BODY, expectBodyIncludes: SUCCEEDED },
      settings,
    ),
    notes: ['node:http stand-in, body as the gateway forwards it'],
  }),
};

const bareProxy: Scenario = {
  id: 'bare-proxy',
  label: 'bare proxy (Hono+undici)',
  unit: 'req/s',
  async run({ upstream, settings }) {
    const proxy = await startServer('bare-proxy', { env: { UPSTREAM_URL: upstream.url } });
    try {
      return {
        load: await httpLoad(
          { url: proxy.url, path: '/agp/execute', body: FORWARDED_BODY, expectBodyIncludes: SUCCEEDED },
          settings,
        ),
        notes: ['no auth, no ledger: the stack ceiling'],
      };
    } finally {
      await proxy.stop();
    }
  },
};

const minimalGateway: Scenario = {
  id: 'minimal-gateway',
  label: 'minimal durable gateway',
  unit: 'req/s',
  async run({ upstream, settings }) {
    const server = await startServer('minimal-gateway', { env: { UPSTREAM_URL: upstream.url } });
    try {
      return {
        load: await httpLoad(
          {
            url: server.url,
            path: '/agp/execute',
            headers: { authorization: `Bearer ${String(server.info.key)}` },
            body: AGENT_BODY,
            expectBodyIncludes: SUCCEEDED,
          },
          settings,
        ),
        notes: ['3 indexed reads, RFC 8785 hash, HMAC-signed forward, 2 group-committed writes (issue 9)'],
      };
    } finally {
      await server.stop();
    }
  },
};

type GatewayDriver = (
  gateway: ServerHandle,
  key: string,
  settings: LoadSettings,
) => Promise<{ load: LoadResult; okExecutes: number }>;

/** Open mode: every request is an execute, no token. */
const executeDriver: GatewayDriver = async (gateway, key, settings) => {
  const load = await httpLoad(
    {
      url: gateway.url,
      path: '/agp/execute',
      headers: { authorization: `Bearer ${key}` },
      body: AGENT_BODY,
      expectBodyIncludes: SUCCEEDED,
    },
    settings,
  );
  return { load, okExecutes: load.okRequestsIncludingWarmup };
};

/** Confirm mode: each worker runs prepare, then execute with the token; a unit is the pair. */
const confirmPairsDriver: GatewayDriver = async (gateway, key, settings) => {
  if (useWrk) {
    const load = await wrkPairs({ url: gateway.url, key, body: AGENT_BODY }, settings);
    return { load, okExecutes: load.okRequestsIncludingWarmup };
  }
  const auth = { authorization: `Bearer ${key}` };
  let okExecutes = 0;
  const load = await workerLoad(gateway.url, settings, async (send) => {
    const prepared = await send('/agp/execute/prepare', AGENT_BODY, auth);
    if (prepared.status !== 200) return;
    const token: unknown = (JSON.parse(prepared.body) as { confirmationToken?: unknown }).confirmationToken;
    if (typeof token !== 'string') throw new Error(`prepare answered 200 without a token: ${prepared.body}`);
    const executed = await send('/agp/execute', AGENT_BODY, { ...auth, 'x-confirmation-token': token });
    if (executed.status !== 200) return;
    okExecutes++;
    if (!executed.body.includes(SUCCEEDED))
      throw new Error(`execute did not succeed: ${executed.body.slice(0, 300)}`);
  });
  return { load, okExecutes };
};

/** The MCP `tools/call` of `execute` with the same business and request as AGENT_BODY (issue 13). */
const mcpCall = (id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'execute', arguments: JSON.parse(AGENT_BODY) },
  });
const MCP_ACCEPT = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };

/** MCP_SESSIONS=none: every POST is a self-contained tools/call answered in JSON; autocannon as for REST. */
const mcpStatelessDriver: GatewayDriver = async (gateway, key, settings) => {
  const load = await httpLoad(
    {
      url: gateway.url,
      path: '/mcp',
      headers: { authorization: `Bearer ${key}`, ...MCP_ACCEPT },
      body: mcpCall(1),
      expectBodyIncludes: SUCCEEDED,
    },
    settings,
  );
  return { load, okExecutes: load.okRequestsIncludingWarmup };
};

/**
 * MCP_SESSIONS=memory (the default): one session opened with `initialize`, then every worker sends
 * tools/call with its own JSON-RPC id (ids must be unique within a session) and reads the event stream.
 */
const mcpSessionDriver: GatewayDriver = async (gateway, key, settings) => {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...MCP_ACCEPT };
  const init = await fetch(`${gateway.url}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    }),
  });
  await init.text();
  const session = init.headers.get('mcp-session-id');
  if (!session) throw new Error(`initialize opened no session (${init.status})`);
  const withSession = { ...headers, 'mcp-session-id': session };
  const initialized = await fetch(`${gateway.url}/mcp`, {
    method: 'POST',
    headers: withSession,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await initialized.text();
  let next = 1;
  let okExecutes = 0;
  const load = await workerLoad(gateway.url, settings, async (send) => {
    const res = await send('/mcp', mcpCall(next++), withSession);
    if (res.status !== 200) return;
    if (!res.body.includes(SUCCEEDED))
      throw new Error(`tools/call did not succeed: ${res.body.slice(0, 300)}`);
    okExecutes++;
  });
  return { load, okExecutes };
};

/** REST execute through the same worker client as the MCP session driver: the like-for-like reference. */
const restWorkerDriver: GatewayDriver = async (gateway, key, settings) => {
  let okExecutes = 0;
  const load = await workerLoad(gateway.url, settings, async (send) => {
    const res = await send('/agp/execute', AGENT_BODY, { authorization: `Bearer ${key}` });
    if (res.status !== 200) return;
    if (!res.body.includes(SUCCEEDED)) throw new Error(`execute did not succeed: ${res.body.slice(0, 300)}`);
    okExecutes++;
  });
  return { load, okExecutes };
};

/** CPU time a process has used so far, in µs (user + system, from /proc; undefined elsewhere). */
function processCpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3 of stat(5), so utime (14) and stime (15) are at 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks / CLOCK_TICKS) * 1e6 : undefined;
  } catch {
    return undefined;
  }
}
/** USER_HZ: /proc counts CPU time in these (100 on Linux). */
const CLOCK_TICKS = 100;

function gatewayScenario(options: {
  id: string;
  label: string;
  unit?: Scenario['unit'];
  env: Record<string, string>;
  driver: GatewayDriver;
  /** DATABASE_URL for the scenario's temp dir; a fresh SQLite file by default. */
  databaseUrl?: (dir: string) => string;
}): Scenario {
  return {
    id: options.id,
    label: options.label,
    unit: options.unit ?? 'req/s',
    async run({ upstream, settings, dir, profiling }) {
      const databaseUrl = options.databaseUrl?.(dir) ?? `file:${join(dir, 'warden.db')}`;
      const logFile = join(dir, 'gateway.log');
      const profileDir = join(dir, 'profile');
      const logFd = openSync(logFile, 'w');
      let gateway: ServerHandle | undefined;
      let result: { load: LoadResult; okExecutes: number };
      let exitCode: number | null | undefined;
      let cpuUsPerRequest: number | undefined;
      try {
        gateway = await startServer('gateway', {
          stdout: logFd,
          execArgv: profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
          env: {
            NODE_ENV: 'production',
            SECRETS_KEY: BENCH_SECRETS_KEY,
            // The stand-in listens on 127.0.0.1, which production refuses unless allowed.
            EGRESS_ALLOW_PRIVATE: 'true',
            HOST: '127.0.0.1',
            PORT: '0',
            LOG_LEVEL: GATEWAY_LOG_LEVEL,
            DATABASE_URL: databaseUrl,
            UPSTREAM_URL: upstream.url,
            ...options.env,
          },
        });
        const key = gateway.info.key;
        if (typeof key !== 'string') throw new Error('gateway server sent no agent key');
        const cpuBefore = processCpuUs(gateway.pid);
        result = await options.driver(gateway, key, settings);
        const cpuAfter = processCpuUs(gateway.pid);
        if (cpuBefore !== undefined && cpuAfter !== undefined && result.okExecutes > 0) {
          cpuUsPerRequest = (cpuAfter - cpuBefore) / result.okExecutes;
        }
      } finally {
        exitCode = await gateway?.stop();
        closeSync(logFd);
      }
      const notes: string[] = [];
      if (exitCode !== 0) notes.push(`!!! the gateway process exited with code ${exitCode}`);
      const data: Record<string, unknown> = { databaseUrl: databaseUrl.replace(dir, '<tmp>') };
      if (cpuUsPerRequest !== undefined) {
        // CPU time rather than a rate: on a shared machine it hardly moves with the neighbours' load.
        data.cpuUsPerRequest = cpuUsPerRequest;
        notes.push(`gateway CPU: ${fmt.int(cpuUsPerRequest)} µs per 2xx answer (warm-up included)`);
      }
      const logLines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).length;
      notes.push(
        `LOG_LEVEL=${GATEWAY_LOG_LEVEL} to a file: ${fmt.int(logLines)} lines, ${fmt.int(statSync(logFile).size / 1024)} KiB`,
      );
      data.logLines = logLines;
      if (databaseUrl.startsWith('file:')) {
        const ledger = await ledgerCounts(databaseUrl);
        const succeeded = ledger.succeeded ?? 0;
        data.ledger = ledger;
        data.okExecutesSeenByClient = result.okExecutes;
        notes.push(
          `ledger (read-only, after exit): ${fmt.int(succeeded)} succeeded transactions; client saw ${fmt.int(result.okExecutes)} 2xx executes (warm-up included)` +
            (succeeded < result.okExecutes ? '  <-- FEWER ROWS THAN 2xx ANSWERS' : ''),
        );
        if (succeeded < result.okExecutes) result.load.errors++;
      }
      let profile: ProfileSummary | undefined;
      if (profiling) {
        // One file per thread (tsx's loader hooks run on their own): the main thread is the busiest.
        const profiles = existsSync(profileDir)
          ? cpuProfilesIn(profileDir).map((f) => summariseCpuProfile(f))
          : [];
        profile = profiles.sort((a, b) => b.busyMs - a.busyMs)[0];
        if (!profile) notes.push('no CPU profile was written');
      }
      return { load: result.load, notes, data, profile };
    },
  };
}

/** The PostgreSQL server for the postgres scenarios (CI's by default). */
const BENCH_POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ||
  process.env.TEST_POSTGRES_URL ||
  'postgres://postgres@127.0.0.1:5432/test';

/** Half the connections to each of two gateways at once; rates and counts add up. */
async function splitLoad(urls: [string, string], target: Omit<HttpTarget, 'url'>, settings: LoadSettings) {
  const half = { ...settings, connections: Math.max(1, Math.round(settings.connections / 2)) };
  const [a, b] = await Promise.all(urls.map((url) => httpLoad({ ...target, url }, half)));
  return combineLoads(a as LoadResult, b as LoadResult);
}

function combineLoads(a: LoadResult, b: LoadResult): LoadResult {
  const total = a.total + b.total;
  const statusCodes: Record<string, number> = { ...a.statusCodes };
  for (const [code, n] of Object.entries(b.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    rate: a.rate + b.rate,
    // Two histograms cannot be merged from their percentiles: p50 weighted by volume, p99 the worse one.
    p50Ms: total > 0 ? (a.p50Ms * a.total + b.p50Ms * b.total) / total : 0,
    p99Ms: Math.max(a.p99Ms, b.p99Ms),
    total,
    non2xx: a.non2xx + b.non2xx,
    errors: a.errors + b.errors,
    mismatches: a.mismatches + b.mismatches,
    statusCodes,
    failures: [...a.failures, ...b.failures].slice(0, MAX_FAILURES_SHOWN),
    okRequestsIncludingWarmup: a.okRequestsIncludingWarmup + b.okRequestsIncludingWarmup,
  };
}
const MAX_FAILURES_SHOWN = 5;

/**
 * Open-mode execute on PostgreSQL (issue 5), in a schema of its own dropped afterwards: one gateway,
 * or two replicas sharing the database with the load split between them. The ledger is counted in
 * the database after the gateways stopped and compared with the 2xx answers.
 */
function postgresOpenScenario(replicas: 1 | 2): Scenario {
  const id = replicas === 1 ? 'gateway-open-pg' : 'gateway-open-pg-2';
  return {
    id,
    label: `gateway execute (open, PostgreSQL, ${replicas} ${replicas === 1 ? 'replica' : 'replicas'})`,
    unit: 'req/s',
    async run(ctx) {
      const schema = `warden_bench_${process.pid}_${replicas}`;
      const url = new URL(BENCH_POSTGRES_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const databaseUrl = url.toString();
      const admin = postgres(BENCH_POSTGRES_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
      try {
        await admin.unsafe(`drop schema if exists "${schema}" cascade`);
      } catch (error) {
        await admin.end({ timeout: 1 });
        throw new Error(
          `PostgreSQL is unreachable at ${BENCH_POSTGRES_URL} (${error instanceof Error ? error.message : String(error)}); ` +
            'set BENCH_POSTGRES_URL, or leave the postgres scenarios out with BENCH_ONLY',
        );
      }
      let okExecutes = 0;
      const env = { AGENR_EXECUTE_POLICY: 'open' };
      const driver: GatewayDriver = async (gateway, key, settings) => {
        const target = {
          path: '/agp/execute',
          headers: { authorization: `Bearer ${key}` },
          body: AGENT_BODY,
          expectBodyIncludes: SUCCEEDED,
        };
        if (replicas === 1) {
          const load = await httpLoad({ ...target, url: gateway.url }, settings);
          okExecutes = load.okRequestsIncludingWarmup;
          return { load, okExecutes };
        }
        const second = await startServer('replica', {
          env: {
            NODE_ENV: 'production',
            SECRETS_KEY: BENCH_SECRETS_KEY,
            EGRESS_ALLOW_PRIVATE: 'true',
            HOST: '127.0.0.1',
            PORT: '0',
            LOG_LEVEL: GATEWAY_LOG_LEVEL,
            DATABASE_URL: databaseUrl,
            ...env,
          },
        });
        try {
          const load = await splitLoad([gateway.url, second.url], target, settings);
          okExecutes = load.okRequestsIncludingWarmup;
          return { load, okExecutes };
        } finally {
          await second.stop();
        }
      };
      try {
        const run = await gatewayScenario({ id, label: '', env, driver, databaseUrl: () => databaseUrl }).run(
          ctx,
        );
        const rows = await admin.unsafe(
          `select status, count(*)::int as n from "${schema}".transactions group by status`,
        );
        const ledger: Record<string, number> = {};
        for (const row of rows) ledger[String(row.status)] = Number(row.n);
        const succeeded = ledger.succeeded ?? 0;
        run.notes.push(
          `ledger (after exit): ${fmt.int(succeeded)} succeeded transactions; client saw ${fmt.int(okExecutes)} 2xx executes (warm-up included)` +
            (succeeded < okExecutes ? '  <-- FEWER ROWS THAN 2xx ANSWERS' : ''),
        );
        if (succeeded < okExecutes) run.load.errors++;
        if (replicas === 2)
          run.notes.push('two gateway processes, half the connections each; p50 weighted, p99 the worse');
        run.data = { ...run.data, replicas, ledger, okExecutesSeenByClient: okExecutes };
        return run;
      } finally {
        await admin.unsafe(`drop schema if exists "${schema}" cascade`).catch(() => {});
        await admin.end({ timeout: 5 });
      }
    },
  };
}

const SCENARIOS: Scenario[] = [
  direct,
  bareProxy,
  minimalGateway,
  gatewayScenario({
    id: 'gateway-open',
    label: 'gateway execute (open)',
    env: { AGENR_EXECUTE_POLICY: 'open' },
    driver: executeDriver,
  }),
  gatewayScenario({
    // Issue 11: what recording the Prometheus metrics costs the hot path (gateway-open records them).
    id: 'gateway-open-no-metrics',
    label: 'gateway execute (open, METRICS_ENABLED=false)',
    env: { AGENR_EXECUTE_POLICY: 'open', METRICS_ENABLED: 'false' },
    driver: executeDriver,
  }),
  gatewayScenario({
    id: 'gateway-confirm',
    label: 'gateway prepare+execute (confirm)',
    unit: 'pairs/s',
    env: { AGENR_EXECUTE_POLICY: 'confirm' },
    driver: confirmPairsDriver,
  }),
  gatewayScenario({
    id: 'gateway-open-policy',
    label: 'gateway execute (open, 50-rule policy)',
    env: {
      AGENR_EXECUTE_POLICY: 'open',
      // Installs the evaluator bench's 50 rules and 3 limits as the workspace's default policy.
      BENCH_GATEWAY_SETUP: fileURLToPath(new URL('./setup/fifty-rule-policy.ts', import.meta.url)),
    },
    driver: executeDriver,
  }),
  // Issue 12: the same open execute against the in-process echo adapter and against a module adapter
  // doing the same in its worker; the difference is the worker round trip (structured clone both ways).
  gatewayScenario({
    id: 'gateway-open-echo',
    label: 'gateway execute (open, in-process echo adapter)',
    env: { AGENR_EXECUTE_POLICY: 'open', BENCH_BUSINESS_ADAPTER: 'echo' },
    driver: executeDriver,
  }),
  gatewayScenario({
    id: 'gateway-open-module',
    label: 'gateway execute (open, module adapter in a worker)',
    env: {
      AGENR_EXECUTE_POLICY: 'open',
      ADAPTERS_DIR: fileURLToPath(new URL('./adapters/', import.meta.url)),
      BENCH_BUSINESS_ADAPTER: 'module:echo-module',
    },
    driver: executeDriver,
  }),
  // Issue 13: the same execute as an MCP tool call, against REST execute in the same run.
  gatewayScenario({
    id: 'mcp-execute-stateless',
    label: 'MCP tools/call execute (MCP_SESSIONS=none, JSON)',
    env: { AGENR_EXECUTE_POLICY: 'open', MCP_SESSIONS: 'none' },
    driver: mcpStatelessDriver,
  }),
  gatewayScenario({
    id: 'gateway-open-workers',
    label: 'gateway execute (open, worker client)',
    env: { AGENR_EXECUTE_POLICY: 'open' },
    driver: restWorkerDriver,
  }),
  gatewayScenario({
    id: 'mcp-execute-session',
    label: 'MCP tools/call execute (one session, event stream, worker client)',
    env: { AGENR_EXECUTE_POLICY: 'open' },
    driver: mcpSessionDriver,
  }),
  postgresOpenScenario(1),
  postgresOpenScenario(2),
];

// ---------------------------------------------------------------------------------------------------------

interface ScenarioReport {
  id: string;
  label: string;
  unit: Scenario['unit'];
  rate: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  mismatches: number;
  statusCodes: Record<string, number>;
  vsDirect: number | null;
  vsBareProxy: number | null;
  failures: string[];
  notes: string[];
  data?: Record<string, unknown>;
  profile?: ProfileSummary;
}

function printProfile(label: string, profile: ProfileSummary): void {
  console.log(
    `\nCPU profile of ${label} (busy ${fmt.int(profile.busyMs)} ms, idle ${fmt.int(profile.idleMs)} ms):`,
  );
  const rows = (spots: ProfileSummary['functions']) =>
    spots.map((s) => [s.name, s.selfMs.toFixed(0), `${s.percent.toFixed(1)}%`]);
  console.log(formatTable(['module (self time)', 'ms', 'busy %'], rows(profile.modules)));
  console.log();
  console.log(formatTable(['function (self time)', 'ms', 'busy %'], rows(profile.functions)));
  console.log();
  console.log(
    formatTable(['project function (inclusive time)', 'ms', 'busy %'], rows(profile.projectInclusive)),
  );
}

async function policyEvaluatorFigure(): Promise<Record<string, unknown>> {
  const path = fileURLToPath(new URL('./policy-evaluator.ts', import.meta.url));
  if (!existsSync(path)) return { skipped: 'bench/policy-evaluator.ts does not exist' };
  const mod: unknown = await import(pathToFileURL(path).href);
  const fn =
    typeof mod === 'object' && mod !== null && 'benchPolicyEvaluator' in mod
      ? mod.benchPolicyEvaluator
      : undefined;
  if (typeof fn !== 'function')
    return { skipped: 'bench/policy-evaluator.ts exports no benchPolicyEvaluator' };
  const result: unknown = await fn();
  return typeof result === 'object' && result !== null ? { ...result } : { skipped: 'unexpected result' };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/**
 * Issue 9: does throughput hold as the ledger grows? One gateway on one database, open execute,
 * six consecutive 10-second runs with no pause; the last against the first.
 */
async function stabilityRun(upstream: ServerHandle, dir: string): Promise<number[]> {
  process.stdout.write('- stability: one database, 60 s of open execute in 10 s windows … ');
  const logFd = openSync(join(dir, 'gateway.log'), 'w');
  const gateway = await startServer('gateway', {
    stdout: logFd,
    env: {
      NODE_ENV: 'production',
      SECRETS_KEY: BENCH_SECRETS_KEY,
      EGRESS_ALLOW_PRIVATE: 'true',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: GATEWAY_LOG_LEVEL,
      DATABASE_URL: `file:${join(dir, 'warden.db')}`,
      UPSTREAM_URL: upstream.url,
      AGENR_EXECUTE_POLICY: 'open',
    },
  });
  const rates: number[] = [];
  try {
    const target = {
      url: gateway.url,
      path: '/agp/execute',
      headers: { authorization: `Bearer ${String(gateway.info.key)}` },
      body: AGENT_BODY,
      expectBodyIncludes: SUCCEEDED,
    };
    for (let i = 0; i < 6; i++) {
      const load = await httpLoad(target, {
        ...settings,
        duration: 10,
        warmup: i === 0 ? settings.warmup : 0,
      });
      rates.push(load.rate);
    }
  } finally {
    await gateway.stop();
    closeSync(logFd);
  }
  console.log(rates.map((r) => fmt.int(r)).join(' → '), 'req/s');
  return rates;
}

interface Floor {
  floor: string;
  measured: number | null;
  /** `measured`: a ratio the issue asks for without a floor (issue 13: MCP vs REST). */
  verdict: 'met' | 'MISSED' | 'n/a' | 'measured';
}

/** The floors of issues 9 and 10, from the rounds that ran every scenario a floor compares. */
function floorReport(runs: Map<string, { loads: ScenarioRun[] }>, stability: number[] | undefined): Floor[] {
  const perRound = (a: string, b: string, f: (x: LoadResult, y: LoadResult) => number): number | null => {
    const xs = runs.get(a)?.loads;
    const ys = runs.get(b)?.loads;
    if (!xs || !ys) return null;
    const n = Math.min(xs.length, ys.length);
    return n === 0
      ? null
      : median(
          Array.from({ length: n }, (_, i) => f((xs[i] as ScenarioRun).load, (ys[i] as ScenarioRun).load)),
        );
  };
  const rate = (a: string, b: string) => perRound(a, b, (x, y) => x.rate / y.rate);
  const cpuRatio = (a: string, b: string): number | null => {
    const cpu = (id: string) =>
      (runs.get(id)?.loads ?? [])
        .map((run) => run.data?.cpuUsPerRequest)
        .filter((v) => typeof v === 'number');
    const xs = cpu(a);
    const ys = cpu(b);
    const n = Math.min(xs.length, ys.length);
    return n === 0
      ? null
      : median(Array.from({ length: n }, (_, i) => (xs[i] as number) / (ys[i] as number)));
  };
  const floor = (label: string, measured: number | null, ok: (v: number) => boolean): Floor => ({
    floor: label,
    measured,
    verdict: measured === null ? 'n/a' : ok(measured) ? 'met' : 'MISSED',
  });
  const first = stability?.[0];
  const last = stability?.at(-1);
  const ratio = (label: string, measured: number | null): Floor => ({
    floor: label,
    measured,
    verdict: measured === null ? 'n/a' : 'measured',
  });
  return [
    ratio(
      'issue 13: MCP tools/call execute, no sessions / REST execute (autocannon both)',
      rate('mcp-execute-stateless', 'gateway-open'),
    ),
    ratio(
      'issue 13: MCP tools/call execute in a session / REST execute (worker client both)',
      rate('mcp-execute-session', 'gateway-open-workers'),
    ),
    floor(
      'open execute / minimal durable gateway >= 0.80',
      rate('gateway-open', 'minimal-gateway'),
      (v) => v >= 0.8,
    ),
    floor(
      'open execute / bare proxy >= 0.40 (goal 0.70)',
      rate('gateway-open', 'bare-proxy'),
      (v) => v >= 0.4,
    ),
    floor(
      'issue 10: open execute, receipts on / bare proxy >= 0.50',
      rate('gateway-open', 'bare-proxy'),
      (v) => v >= 0.5,
    ),
    floor(
      'issue 11: gateway CPU per open execute, metrics on / off <= 1.05',
      cpuRatio('gateway-open', 'gateway-open-no-metrics'),
      (v) => v <= 1.05,
    ),
    floor(
      '50-rule 3-limit policy / no policy >= 0.85',
      rate('gateway-open-policy', 'gateway-open'),
      (v) => v >= 0.85,
    ),
    floor(
      'p99 open execute / p99 minimal gateway <= 2.0',
      perRound('gateway-open', 'minimal-gateway', (x, y) => x.p99Ms / y.p99Ms),
      (v) => v <= 2,
    ),
    floor(
      'confirm pair time / open execute time <= 2.2',
      rate('gateway-open', 'gateway-confirm'),
      (v) => v <= 2.2,
    ),
    floor(
      'issue 12: module adapter in a worker / in-process echo adapter >= 0.75',
      rate('gateway-open-module', 'gateway-open-echo'),
      (v) => v >= 0.75,
    ),
    floor(
      'PostgreSQL, one replica / SQLite >= 0.50',
      rate('gateway-open-pg', 'gateway-open'),
      (v) => v >= 0.5,
    ),
    floor(
      'last 10 s / first 10 s of a 60 s run >= 0.85',
      first && last ? last / first : null,
      (v) => v >= 0.85,
    ),
  ];
}

async function main(): Promise<void> {
  const scenarios = SCENARIOS.filter((s) => only.size === 0 || only.has(s.id));
  console.log(
    `warden bench: ${settings.duration} s per scenario after ${settings.warmup} s warm-up, ${settings.connections} connections, ` +
      `node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? '?'})` +
      (profiling
        ? '\n  BENCH_PROFILE=1: gateway children run with --cpu-prof; their figures are lower than real ones'
        : ''),
  );
  const root = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const upstream = await startServer('upstream');
  const runs = new Map<string, { scenario: Scenario; loads: ScenarioRun[] }>();
  let stability: number[] | undefined;
  let readPath: Record<string, unknown> = { skipped: 'BENCH_ONLY' };
  try {
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) console.log(`round ${round} of ${rounds}`);
      for (const scenario of scenarios) {
        process.stdout.write(`- ${scenario.label} … `);
        const dir = join(root, `${scenario.id}-${round}`);
        mkdirSync(dir);
        const run = await scenario.run({ upstream, settings, dir, profiling });
        const { load } = run;
        console.log(
          `${fmt.int(load.rate)} ${scenario.unit}, p50 ${fmt.ms(load.p50Ms)} ms, p99 ${fmt.ms(load.p99Ms)} ms`,
        );
        for (const note of run.notes) console.log(`    ${note}`);
        const bad = load.non2xx + load.errors + load.mismatches;
        if (bad > 0) {
          console.log(
            `    !!! ${load.non2xx} non-2xx, ${load.errors} errors, ${load.mismatches} unexpected bodies; status codes ${JSON.stringify(load.statusCodes)}`,
          );
          for (const failure of load.failures) console.log(`    !!! ${failure}`);
        }
        const entry = runs.get(scenario.id) ?? { scenario, loads: [] };
        entry.loads.push(run);
        runs.set(scenario.id, entry);
      }
    }
    if (only.size === 0 || only.has('stability')) {
      const dir = join(root, 'stability');
      mkdirSync(dir);
      stability = await stabilityRun(upstream, dir);
    }
    if (only.size === 0 || only.has('read-path')) {
      const dir = join(root, 'read-path');
      mkdirSync(dir);
      readPath = await benchReadPath({ upstreamUrl: upstream.url, dir, settings, rounds, httpLoad });
    }
  } finally {
    await upstream.stop();
    if (process.env.BENCH_KEEP_TMP === '1') console.log(`kept ${root} (databases, logs, profiles)`);
    else rmSync(root, { recursive: true, force: true });
  }

  const reports: ScenarioReport[] = [...runs.values()].map(({ scenario, loads }) => {
    const last = loads.at(-1) as ScenarioRun;
    const sum = (f: (l: LoadResult) => number) => loads.reduce((n, r) => n + f(r.load), 0);
    return {
      id: scenario.id,
      label: scenario.label,
      unit: scenario.unit,
      rate: median(loads.map((r) => r.load.rate)),
      p50Ms: median(loads.map((r) => r.load.p50Ms)),
      p99Ms: median(loads.map((r) => r.load.p99Ms)),
      non2xx: sum((l) => l.non2xx),
      errors: sum((l) => l.errors),
      mismatches: sum((l) => l.mismatches),
      statusCodes: last.load.statusCodes,
      vsDirect: null,
      vsBareProxy: null,
      failures: loads.flatMap((r) => r.load.failures).slice(0, MAX_FAILURES_SHOWN),
      notes: last.notes,
      data: {
        ...last.data,
        rounds: loads.map((r) => ({ rate: r.load.rate, p50Ms: r.load.p50Ms, p99Ms: r.load.p99Ms })),
      },
      profile: last.profile,
    };
  });

  const directRate = reports.find((r) => r.id === 'direct')?.rate;
  const bareRate = reports.find((r) => r.id === 'bare-proxy')?.rate;
  for (const r of reports) {
    r.vsDirect = directRate ? r.rate / directRate : null;
    r.vsBareProxy = bareRate ? r.rate / bareRate : null;
  }

  for (const r of reports) if (r.profile) printProfile(r.label, r.profile);

  // PostgreSQL against the SQLite file, open execute, same run and machine (issue 5).
  const sqliteOpen = reports.find((r) => r.id === 'gateway-open')?.rate;
  const onPostgres = reports.filter((r) => r.id.startsWith('gateway-open-pg'));
  for (const r of onPostgres) r.data = { ...r.data, vsSqliteOpen: sqliteOpen ? r.rate / sqliteOpen : null };

  console.log();
  console.log(
    formatTable(
      ['scenario', 'rate', 'unit', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'vs direct', 'vs bare proxy'],
      reports.map((r) => [
        r.label,
        fmt.int(r.rate),
        r.unit,
        fmt.ms(r.p50Ms),
        fmt.ms(r.p99Ms),
        String(r.non2xx),
        String(r.errors + r.mismatches),
        fmt.ratio(r.vsDirect),
        fmt.ratio(r.vsBareProxy),
      ]),
    ),
  );
  console.log(
    (useWrk
      ? '(wrk, one thread: latencies per request; in confirm mode each connection alternates prepare and execute,\n' +
        ' and a pair is an execute that succeeded;'
      : '(autocannon latencies are whole milliseconds; pairs are timed by undici workers, prepare+execute end to end;') +
      '\n on 2 cores the load generator shares the CPUs with the servers, so every figure is for this machine only)',
  );

  const floors = floorReport(runs, stability);
  if (floors.length > 0) {
    console.log(
      '\nissue 9 and 10 floors (each the median of its per-round ratio, so every ratio compares one round):',
    );
    console.log(
      formatTable(
        ['floor', 'measured', 'verdict'],
        floors.map((f) => [f.floor, f.measured === null ? 'n/a' : f.measured.toFixed(2), f.verdict]),
      ),
    );
  }

  const withPolicy = reports.find((r) => r.id === 'gateway-open-policy');
  if (withPolicy && sqliteOpen) {
    console.log(
      `\nopen execute with a 50-rule, 3-limit policy vs with none (same run): ${fmt.ratio(withPolicy.rate / sqliteOpen)}`,
    );
  }
  if (onPostgres.length > 0) {
    console.log(
      `\nopen execute on PostgreSQL vs the SQLite file (same run): ${onPostgres
        .map(
          (r) =>
            `${r.label.replace('gateway execute (open, PostgreSQL, ', '').replace(')', '')} ${fmt.ratio(sqliteOpen ? r.rate / sqliteOpen : null)}`,
        )
        .join(', ')}`,
    );
  }
  const policyEvaluator =
    only.size === 0 || only.has('policy-evaluator')
      ? await policyEvaluatorFigure()
      : { skipped: 'BENCH_ONLY' };
  if ('decisionsPerSecond' in policyEvaluator && typeof policyEvaluator.decisionsPerSecond === 'number') {
    console.log(
      `\npolicy evaluator: ${fmt.int(policyEvaluator.decisionsPerSecond)} decisions/s (${String(policyEvaluator.rules)} rules, ${String(policyEvaluator.limits)} limits, one core)`,
    );
    const cost = (policyEvaluator.matchesCost ?? []) as { pattern: string; chars: number; ms: number }[];
    console.log(
      formatTable(
        ['matches on hostile input (RE2, linear)', 'chars', 'ms per evaluation'],
        cost.map((m) => [m.pattern, fmt.int(m.chars), m.ms.toFixed(2)]),
      ),
    );
  } else {
    console.log(`\npolicy evaluator: skipped (${String(policyEvaluator.skipped)})`);
  }

  // Issue 10: what a receipt adds to an execute, in CPU, measured in this process on one core.
  const receiptCost =
    only.size === 0 || only.has('receipt-cost') ? await benchReceiptCost() : { skipped: 'BENCH_ONLY' };
  if ('receiptUs' in receiptCost) {
    console.log(
      `\nreceipt per execute: ${fmt.int(receiptCost.receiptUs ?? 0)} µs CPU (head read, payload, Ed25519 signature ` +
        `${fmt.int(receiptCost.signUs ?? 0)} µs, hashes, insert), measured in-process on one core`,
    );
  }

  // Issue 11: what recording the metrics adds to an execute, in CPU, in this process.
  const metricsCost =
    only.size === 0 || only.has('metrics-cost') ? await benchMetricsCost() : { skipped: 'BENCH_ONLY' };
  if ('recordUs' in metricsCost) {
    console.log(
      `metrics per execute: ${(metricsCost.recordUs ?? 0).toFixed(2)} µs CPU to record; an in-process open execute ` +
        `${fmt.int(metricsCost.executeOnUs ?? 0)} µs CPU with metrics, ${fmt.int(metricsCost.executeOffUs ?? 0)} µs ` +
        `without (${(metricsCost.overheadPct ?? 0).toFixed(1)} %)`,
    );
  }

  const failed = reports.filter((r) => r.non2xx + r.errors + r.mismatches > 0);
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'latest.json'),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cores: availableParallelism(),
        cpu: cpus()[0]?.model.trim(),
        settings,
        gatewayLogLevel: GATEWAY_LOG_LEVEL,
        profiling,
        ok: failed.length === 0,
        scenarios: reports.map(({ profile, ...r }) => ({
          ...r,
          profile: profile && {
            modules: profile.modules,
            functions: profile.functions,
            projectInclusive: profile.projectInclusive,
          },
        })),
        policyEvaluator,
        receiptCost,
        metricsCost,
        readPath,
        floors,
        stability: stability ?? null,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results: bench/results/latest.json`);

  if (failed.length > 0) {
    console.log(
      `\n!!!!!!!! RUN HAD ERRORS in ${failed.map((r) => r.id).join(', ')}: the figures above are not valid !!!!!!!!`,
    );
    process.exitCode = 1;
  }
}

await main();
