import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_LOG_LEVEL, productionGatewayEnv } from '../config.ts';
import type { GatewayDriver } from '../drivers/types.ts';
import { cpuFigures, cpuMeter } from '../lib/cpu.ts';
import { ledgerCounts, sequencerLag } from '../lib/ledger.ts';
import type { ProfileSummary } from '../lib/profile.ts';
import { type ServerHandle, startServer } from '../lib/spawn.ts';
import { fmt } from '../lib/table.ts';
import { busiestProfile, profileExecArgv } from '../profile.ts';
import type { Scenario } from './types.ts';

/**
 * The real gateway (bench/servers/gateway.ts) in production mode in its own process, its log to a
 * file, driven by `driver`. Afterwards: its CPU time per 2xx answer, its log volume, and (on a SQLite
 * file) the ledger counted read-only after exit and compared with the 2xx answers the client saw.
 */
export function gatewayScenario(options: {
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
      let result: Awaited<ReturnType<GatewayDriver>>;
      let exitCode: number | null | undefined;
      let cpuUsPerRequest: number | undefined;
      try {
        gateway = await startServer('gateway', {
          stdout: logFd,
          execArgv: profileExecArgv(profiling, profileDir),
          env: { ...productionGatewayEnv(databaseUrl), UPSTREAM_URL: upstream.url, ...options.env },
        });
        const key = gateway.info.key;
        if (typeof key !== 'string') throw new Error('gateway server sent no agent key');
        const cpu = cpuMeter([gateway.pid]);
        result = await options.driver(gateway, key, settings);
        // A driver that started more gateways (replicas) counts their CPU in extraCpuUs.
        const own = cpu.perRequest(result.okExecutes);
        if (own !== undefined && result.extraCpuUs !== null) {
          cpuUsPerRequest = own + (result.extraCpuUs ?? 0) / result.okExecutes;
        }
      } finally {
        exitCode = await gateway?.stop();
        closeSync(logFd);
      }
      const notes: string[] = [];
      if (exitCode !== 0) notes.push(`!!! the gateway process exited with code ${exitCode}`);
      const data: Record<string, unknown> = { databaseUrl: databaseUrl.replace(dir, '<tmp>') };
      const cpuFigure = cpuFigures('gateway', cpuUsPerRequest);
      Object.assign(data, cpuFigure.data);
      notes.push(...cpuFigure.notes);
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
        // Issue 20: commit → appended to the ledger log, for every receipt the sequencer appended.
        const lag = await sequencerLag(databaseUrl);
        data.sequencerLag = lag;
        notes.push(
          `ledger log: ${fmt.int(lag.appended)} receipts appended, lag p50 ${lag.p50Ms ?? '—'} ms, p99 ${lag.p99Ms ?? '—'} ms; ${fmt.int(lag.waiting)} entries still waiting at exit`,
        );
      }
      let profile: ProfileSummary | undefined;
      if (profiling) {
        profile = busiestProfile(profileDir);
        if (!profile) notes.push('no CPU profile was written');
      }
      return { load: result.load, notes, data, profile };
    },
  };
}
