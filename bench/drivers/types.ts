import type { LoadResult, LoadSettings } from '../lib/load.ts';
import type { ServerHandle } from '../lib/spawn.ts';

/**
 * What a gateway scenario sends: given a running gateway and its agent key, drive the load and say
 * how many executes succeeded (compared with the ledger rows afterwards), and the CPU time (µs) of
 * any other gateway process it started for the load (a second replica; null: /proc could not tell).
 */
export type GatewayDriver = (
  gateway: ServerHandle,
  key: string,
  settings: LoadSettings,
) => Promise<{ load: LoadResult; okExecutes: number; extraCpuUs?: number | null }>;
