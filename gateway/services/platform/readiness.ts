import { pendingMigrations } from '../../db/migration-status.ts';
import type { Db } from '../../db/types.ts';

/** What /ready reports on besides the database (DESIGN §5 "Ops"). */
export interface ReadinessState {
  /** False once shutdown began: the load balancer should stop sending traffic. */
  accepting: boolean;
  /**
   * The background workers this gateway runs, by name: true while running. A gateway built without
   * jobs (tests drive them by hand) lists none and waits for none.
   */
  workers: Record<string, boolean>;
}

export type Readiness =
  | { ready: true }
  | { ready: false; reason: 'shutting_down' }
  | { ready: false; reason: 'database_unreachable'; error: unknown }
  | { ready: false; reason: 'not_ready'; migrationsPending: string[]; workersNotRunning: string[] };

/** Databases seen fully migrated: migrations are never undone, so they are not counted again. */
const migrated = new WeakSet<Db>();

/**
 * Ready when accepting, the database answers, every migration this build ships is applied, and every
 * worker the gateway runs (the outbox, the deadline job) is running.
 */
export async function checkReadiness(db: Db, state: ReadinessState): Promise<Readiness> {
  if (!state.accepting) return { ready: false, reason: 'shutting_down' };
  let migrationsPending: string[] = [];
  try {
    await db.ping();
    if (!migrated.has(db)) {
      migrationsPending = await pendingMigrations(db.reader);
      if (migrationsPending.length === 0) migrated.add(db);
    }
  } catch (error) {
    return { ready: false, reason: 'database_unreachable', error };
  }
  const workersNotRunning = Object.entries(state.workers)
    .filter(([, running]) => !running)
    .map(([name]) => name);
  if (migrationsPending.length > 0 || workersNotRunning.length > 0) {
    return { ready: false, reason: 'not_ready', migrationsPending, workersNotRunning };
  }
  return { ready: true };
}
