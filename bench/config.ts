import type { LoadSettings } from './lib/load.ts';

/**
 * What a bench run is told by its environment, read once here, and the constants every scenario
 * shares. Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (32), BENCH_WARMUP (s, 2),
 * BENCH_ROUNDS (3), BENCH_ONLY (comma-separated scenario ids; also stability, read-path,
 * policy-evaluator, receipt-cost, metrics-cost), BENCH_PROFILE=1, BENCH_LOAD=autocannon (skip wrk),
 * BENCH_KEEP_TMP=1, BENCH_POSTGRES_URL (else TEST_POSTGRES_URL), BENCH_READERS (bench/read-path.ts).
 */

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

export const settings: LoadSettings = {
  duration: numberFromEnv('BENCH_DURATION', 10),
  connections: Math.max(1, Math.round(numberFromEnv('BENCH_CONNECTIONS', 32))),
  warmup: numberFromEnv('BENCH_WARMUP', 2),
};
const only = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
/** Whether BENCH_ONLY leaves `id` in the run (everything runs when BENCH_ONLY is unset). */
export const selected = (id: string): boolean => only.size === 0 || only.has(id);
/** Rounds of every scenario, interleaved; the tables report each figure's median (this VM is noisy). */
export const rounds = Math.max(1, Math.round(numberFromEnv('BENCH_ROUNDS', 3)));
export const profiling = process.env.BENCH_PROFILE === '1';
export const keepTmp = process.env.BENCH_KEEP_TMP === '1';

/** Production requires SECRETS_KEY (issue 10); every gateway of a run shares this one. */
export const BENCH_SECRETS_KEY = 'bench-secrets-key-0123456789abcdef-0123456789';
/** Production logs every request: the gateway runs at info, its stdout appended to a file. */
export const GATEWAY_LOG_LEVEL = 'info';

/** The PostgreSQL server for the postgres scenarios (CI's by default). */
export const BENCH_POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ||
  process.env.TEST_POSTGRES_URL ||
  'postgres://postgres@127.0.0.1:5432/test';

/** The environment of a production gateway process on `databaseUrl` (a scenario adds its own). */
export function productionGatewayEnv(databaseUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    SECRETS_KEY: BENCH_SECRETS_KEY,
    // The stand-in listens on 127.0.0.1, which production refuses unless allowed.
    EGRESS_ALLOW_PRIVATE: 'true',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: GATEWAY_LOG_LEVEL,
    DATABASE_URL: databaseUrl,
  };
}

export const BUSINESS_ID = 'shop';
export const AGENT_BODY = JSON.stringify({
  businessId: BUSINESS_ID,
  request: { sku: 'x', amount_cents: 50 },
});
/** What the gateway's http adapter sends upstream for that body (plus its signature headers). */
export const FORWARDED_BODY = JSON.stringify({
  businessId: BUSINESS_ID,
  request: { sku: 'x', amount_cents: 50 },
  transactionId: 'tx_01JBENCH0000000000000000000',
});
export const SUCCEEDED = '"status":"succeeded"';
/** How many failure samples a report keeps per scenario. */
export const MAX_FAILURES_SHOWN = 5;
