import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autocannonLoad } from './lib/load.ts';
import { startServer } from './lib/spawn.ts';
import { fmt, formatTable } from './lib/table.ts';

/**
 * Issue 14: console pages answer in < 50 ms p50 with 10,000 transactions in the database.
 * `npm run bench:console`: a production gateway on a fresh SQLite file, seeded through its own
 * HTTP app (bench/setup/console-seed.ts: 10,000 executes, one in 20 parked for approval), then
 * each page loaded by autocannon with the admin's session cookie (BENCH_CONSOLE_CONNECTIONS, 4;
 * BENCH_CONSOLE_DURATION, 5 s per page). Every answer must be a 200 page.
 */
const connections = Number(process.env.BENCH_CONSOLE_CONNECTIONS ?? 4);
const duration = Number(process.env.BENCH_CONSOLE_DURATION ?? 5);
const P50_FLOOR_MS = 50;

const dir = mkdtempSync(join(tmpdir(), 'warden-console-bench-'));
const out = join(dir, 'seed.json');
const logFd = openSync(join(dir, 'gateway.log'), 'w');
process.stdout.write('seeding 10,000 transactions … ');
const started = Date.now();
const gateway = await startServer('gateway', {
  stdout: logFd,
  startTimeoutMs: 600_000,
  env: {
    NODE_ENV: 'production',
    SECRETS_KEY: 'console-bench-secrets-key-0123456789abcdef',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    DATABASE_URL: `file:${join(dir, 'warden.db')}`,
    // The echo adapter answers in process: seeding needs no upstream.
    UPSTREAM_URL: 'http://127.0.0.1:9',
    BENCH_BUSINESS_ADAPTER: 'echo',
    BENCH_GATEWAY_SETUP: fileURLToPath(new URL('./setup/console-seed.ts', import.meta.url)),
    BENCH_CONSOLE_OUT: out,
  },
});
console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);

try {
  const seed = JSON.parse(readFileSync(out, 'utf8')) as {
    session: string;
    transactionId: string;
    approvalId: string;
  };
  const pages = [
    '/console',
    '/console/approvals',
    `/console/approvals/${seed.approvalId}`,
    '/console/transactions',
    '/console/transactions?status=succeeded&agentId=buyer',
    `/console/transactions/${seed.transactionId}`,
    '/console/policy',
    '/console/keys',
    '/console/members',
    '/console/webhooks',
    '/console/audit',
  ];
  // The cookie is Secure in production; over loopback http autocannon sends it as a header anyway.
  const headers = { cookie: `warden_console=${seed.session}` };
  const rows: string[][] = [];
  let missed = 0;
  for (const path of pages) {
    const load = await autocannonLoad(
      { url: gateway.url, path, method: 'GET', headers, expectBodyIncludes: '</html>' },
      { duration, connections, warmup: 1 },
    );
    const bad = load.non2xx + load.errors + load.mismatches;
    const verdict = bad > 0 ? 'FAILED' : load.p50Ms < P50_FLOOR_MS ? 'met' : 'MISSED';
    if (verdict !== 'met') missed++;
    rows.push([path, fmt.int(load.rate), fmt.ms(load.p50Ms), fmt.ms(load.p99Ms), String(bad), verdict]);
    if (bad > 0) console.log(`${path}: ${load.failures.slice(0, 2).join(' | ')}`);
  }
  console.log(
    `\nconsole pages, 10,000 transactions, ${connections} connections, ${duration} s each (p50 floor ${P50_FLOOR_MS} ms):`,
  );
  console.log(formatTable(['page', 'req/s', 'p50 ms', 'p99 ms', 'not 200', 'p50 < 50 ms'], rows));
  process.exitCode = missed > 0 ? 1 : 0;
} finally {
  await gateway.stop();
  closeSync(logFd);
  rmSync(dir, { recursive: true, force: true });
}
