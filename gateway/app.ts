import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { createAdapterDispatcher } from '../adapters/http/dispatcher.ts';
import { createAdapterRegistry } from '../adapters/index.ts';
import { loadModuleAdapters } from '../adapters/module.ts';
import type { Config } from '../config/index.ts';
import type { GatewayEnv } from './env.ts';
import { errorHandler, notFound } from './error-handler.ts';
import { GatewayError } from './errors.ts';
import { startDeadlineJob } from './jobs/deadlines.ts';
import { startReleaseJob } from './jobs/release-queued.ts';
import { type Job, startSweeper } from './jobs/sweeper.ts';
import { createLogger } from './logger.ts';
import { requestId } from './middleware/request-id/index.ts';
import { wideLog } from './middleware/wide-log/index.ts';
import { registerAdminRoutes } from './routes/admin/index.ts';
import { registerAgpRoutes } from './routes/agp/index.ts';
import { registerApprovalRoutes } from './routes/approvals.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { type HealthState, registerHealthRoutes } from './routes/health.ts';
import { registerPolicyRoutes } from './routes/policies/index.ts';
import { registerTransactionRoutes } from './routes/transactions.ts';
import { registerWorkspaceRoutes } from './routes/workspace.ts';
import type { Services } from './services/context.ts';
import { noOtp } from './services/otp-verifier.ts';
import { PolicyCache } from './services/policy-cache.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/types.ts';

/** DESIGN §3: bodies over 1 MiB are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  /** An open store; opened (and migrated) from config.databaseUrl when left out. */
  store?: Store;
  clock?: () => number;
  /** Background jobs (sweeper); tests turn them off to drive them by hand. */
  jobs?: boolean;
}

export interface Gateway {
  app: Hono<GatewayEnv>;
  services: Services;
  health: HealthState;
  close(): Promise<void>;
}

/** The composition root: builds every service once and registers the routes with them. */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = options.store ?? (await openStore(config.databaseUrl));
  const dispatcher = createAdapterDispatcher({
    timeoutMs: config.adapterTimeoutMs,
    allowPrivate: config.egressAllowPrivate,
  });
  const adapters = createAdapterRegistry({
    dispatcher,
    modules: await loadModuleAdapters(config.adaptersDir),
  });
  const services: Services = {
    config,
    store,
    adapters,
    logger,
    policies: new PolicyCache(),
    clock: options.clock ?? Date.now,
  };
  const health: HealthState = { accepting: true };

  const app = new Hono<GatewayEnv>();
  app.use(requestId());
  app.use(wideLog({ logger }));
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new GatewayError(
          'PAYLOAD_TOO_LARGE',
          `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
        );
      },
    }),
  );
  registerHealthRoutes(app, services, health);
  registerAgpRoutes(app, services);
  registerAdminRoutes(app, services);
  registerWorkspaceRoutes(app, services);
  registerPolicyRoutes(app, services);
  registerTransactionRoutes(app, services);
  registerAuditRoutes(app, services);
  registerApprovalRoutes(app, services, noOtp);
  app.onError(errorHandler(logger));
  app.notFound(notFound);

  const jobs: Job[] =
    options.jobs === false
      ? []
      : [startSweeper(services), startReleaseJob(services), startDeadlineJob(services)];

  return {
    app,
    services,
    health,
    async close() {
      health.accepting = false;
      await Promise.all(jobs.map((job) => job.stop()));
      await adapters.close();
      await dispatcher.close();
      if (!options.store) await store.close();
    },
  };
}
