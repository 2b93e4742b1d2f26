import { join } from 'node:path';
import postgres from 'postgres';
import { AGENT_BODY, BENCH_POSTGRES_URL, productionGatewayEnv, SUCCEEDED } from '../config.ts';
import { httpLoad, splitLoad } from '../drivers/http-load.ts';
import type { GatewayDriver } from '../drivers/types.ts';
import { cpuMeter } from '../lib/cpu.ts';
import { startServer } from '../lib/spawn.ts';
import { fmt } from '../lib/table.ts';
import { profileExecArgv } from '../profile.ts';
import { gatewayScenario } from './gateway.ts';
import type { Scenario } from './types.ts';

/**
 * Open-mode execute on PostgreSQL (issue 5), in a schema of its own dropped afterwards: one gateway,
 * or two replicas sharing the database with the load split between them. The ledger is counted in
 * the database after the gateways stopped and compared with the 2xx answers.
 */
export function postgresOpenScenario(replicas: 1 | 2): Scenario {
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
          // BENCH_PROFILE=1: the second replica's profile goes beside the first one's, not in its folder.
          execArgv: profileExecArgv(ctx.profiling, join(ctx.dir, 'profile-replica-2')),
          env: { ...productionGatewayEnv(databaseUrl), ...env },
        });
        try {
          const cpu = cpuMeter([second.pid]);
          const load = await splitLoad([gateway.url, second.url], target, settings);
          okExecutes = load.okRequestsIncludingWarmup;
          return { load, okExecutes, extraCpuUs: cpu.usedUs() ?? null };
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
