import type { LoadResult, LoadSettings } from '../lib/load.ts';
import type { ProfileSummary } from '../lib/profile.ts';
import type { ServerHandle } from '../lib/spawn.ts';

/**
 * A scenario: one server set-up and one load against it, run once per round. A new one is a file in
 * bench/scenarios/ and an entry in SCENARIOS (scenarios/index.ts); a gateway variant is a
 * gatewayScenario({...}) call (another DATABASE_URL such as postgres://, a BENCH_GATEWAY_SETUP module
 * that installs a policy, …).
 */
export interface Scenario {
  id: string;
  label: string;
  unit: 'req/s' | 'pairs/s';
  run(ctx: ScenarioContext): Promise<ScenarioRun>;
}

export interface ScenarioContext {
  upstream: ServerHandle;
  settings: LoadSettings;
  /** A fresh temp directory for this scenario (database, logs, profiles); removed at the end. */
  dir: string;
  profiling: boolean;
}

export interface ScenarioRun {
  load: LoadResult;
  notes: string[];
  data?: Record<string, unknown>;
  profile?: ProfileSummary;
}

/** Every run of every scenario so far, by scenario id, one entry per round in order. */
export type RunsById = Map<string, { scenario: Scenario; loads: ScenarioRun[] }>;
