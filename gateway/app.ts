import { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import { createAdapterDispatcher } from '../adapters/http/dispatcher.ts';
import { createAdapterRegistry, createMessageSigner } from '../adapters/index.ts';
import { loadModuleAdapters } from '../adapters/module.ts';
import type { Config } from '../config/index.ts';
import { approvalRefusalPage, registerApprovePage } from './console/approve-page/index.tsx';
import { consoleRefusalPage, registerConsole } from './console/index.tsx';
import { registerOAuthAuthorize } from './console/oauth-authorize.tsx';
import { ed25519Implementation, signEd25519 } from './crypto/ed25519.ts';
import { createSealer } from './crypto/sealing.ts';
import { openDatabase } from './db/open.ts';
import type { Db } from './db/types.ts';
import type { GatewayEnv } from './env.ts';
import { errorHandler, notFound } from './error-handler.ts';
import { startDeadlineJob } from './jobs/deadlines.ts';
import { startOrphanJob } from './jobs/orphans.ts';
import { startOutboxJob } from './jobs/outbox.ts';
import type { Job } from './jobs/periodic.ts';
import { startReleaseJob } from './jobs/release-queued.ts';
import { startSequencer } from './jobs/sequencer.ts';
import { startSweeper } from './jobs/sweeper.ts';
import { createLogger } from './logger.ts';
import { createMetrics, disabledMetrics } from './metrics/index.ts';
import { bodyLimit } from './middleware/body-limit/index.ts';
import { drainBody } from './middleware/drain-body/index.ts';
import { loadShed } from './middleware/load-shed/index.ts';
import { metrics as recordMetrics } from './middleware/metrics/index.ts';
import { requestId } from './middleware/request-id/index.ts';
import { storableText } from './middleware/storable-text/index.ts';
import { tracing as traceRequests } from './middleware/tracing/index.ts';
import { wideLog } from './middleware/wide-log/index.ts';
import { createMailer, type Mailer } from './notify/index.ts';
import { countPendingApprovals } from './repositories/approvals.ts';
import { ledgerBacklog } from './repositories/ledger-log.ts';
import { countOutboxBacklog } from './repositories/outbox.ts';
import { registerBusinessLifecycleRoutes } from './routes/admin/business-lifecycle.ts';
import { registerAdminRoutes } from './routes/admin/index.ts';
import { registerAgpRoutes } from './routes/agp/index.ts';
import { registerAnalyticsRoutes } from './routes/analytics.ts';
import { registerApprovalRoutes } from './routes/approvals.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerBusinessRoutes } from './routes/business.ts';
import { registerChannelRoutes } from './routes/channels.ts';
import { registerEvaluateRoutes } from './routes/evaluate.ts';
import { type HealthState, registerHealthRoutes } from './routes/health.ts';
import { registerInviteRoutes } from './routes/invites.ts';
import { registerLedgerRoutes } from './routes/ledger.ts';
import { mcpRefusal, registerMcpRoutes } from './routes/mcp/index.ts';
import { registerMemberRoutes } from './routes/members.ts';
import { registerMetricsRoutes } from './routes/metrics.ts';
import { registerOAuthRoutes } from './routes/oauth/index.ts';
import { checkResponses, registerDocumentRoutes } from './routes/openapi/index.ts';
import { registerPolicyRoutes } from './routes/policies/index.ts';
import { registerReportRoutes } from './routes/reports.ts';
import { registerSsoRoutes } from './routes/sso.ts';
import { registerTransactionRoutes } from './routes/transactions.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { registerWellKnownRoutes } from './routes/well-known.ts';
import { registerWorkspaceRoutes } from './routes/workspace.ts';
import { createOtpService, emailSender } from './services/approvals/index.ts';
import { slackSender, teamsSender } from './services/channels/index.ts';
import type { Deps } from './services/context.ts';
import { chainLegacyAudit, SigningKeys } from './services/ledger/index.ts';
import {
  callbackSender,
  type Senders,
  Subscriptions,
  webhookSender,
} from './services/notifications/index.ts';
import { Breakers, Bulkheads, ConfigCache, createKeyring } from './services/platform/index.ts';
import { PolicyCache, policySyncSender } from './services/policy/index.ts';
import { AnalyticsCache } from './services/reporting/index.ts';
import { IdentityProviders } from './services/sso/index.ts';
import { createTracing } from './tracing/index.ts';

/** DESIGN §3: bodies over 1 MiB are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Request fields stored as JSON text, by route: JSON.stringify writes U+0000 as `\u0000`, so text
 * the database refuses elsewhere is kept there as sent (an agent's request is the business's business).
 */
const STORED_AS_JSON: Record<string, readonly string[]> = {
  'POST /agp/query': ['request'],
  'POST /agp/execute/prepare': ['request'],
  'POST /agp/execute': ['request'],
  'POST /v1/policies/:name/simulate': ['request'],
  'POST /v1/evaluate': ['context.payload_scope'],
  'POST /v1/receipt': ['data'],
  // The same tools over MCP, a message or a batch of them.
  'POST /mcp': [
    'params.arguments.request',
    'params.arguments.context.payload_scope',
    '*.params.arguments.request',
    '*.params.arguments.context.payload_scope',
  ],
};

/** A webhook receiver gets at most this long to connect and answer (then the delivery is retried). */
const WEBHOOK_TIMEOUT_MS = 10_000;
/** Each request to a single sign-on identity provider (discovery, keys, token, userinfo). */
const SSO_TIMEOUT_MS = 10_000;
/** A client's metadata document must come within this (issue 22): a person waits on the consent page. */
const CLIENT_METADATA_TIMEOUT_MS = 5_000;

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  /** An open database; opened (and migrated) from config.databaseUrl when left out. */
  db?: Db;
  clock?: () => number;
  /** Background jobs (sweeper); tests turn them off to drive them by hand. */
  jobs?: boolean;
  /** Tests: answers that /openapi.json does not document become 500s naming the route. */
  checkResponses?: boolean;
  /** Tests: a certificate authority (PEM) the OAuth client-metadata fetches trust, for a loopback HTTPS stand-in. */
  outboundCa?: string;
  /**
   * The bench: false builds the gateway without the tracing middleware, to measure what tracing
   * costs when it is off against no tracing hooks at all. Requests are then never traced.
   */
  traceRequests?: boolean;
}

export interface Gateway {
  app: OpenAPIHono<GatewayEnv>;
  deps: Deps;
  health: HealthState;
  /** The outbox's senders and the mailer; tests with `jobs: false` drive `deliverDue` with them. */
  notify: { senders: Senders; mailer: Mailer };
  close(): Promise<void>;
}

/** The composition root: builds every service once and registers the routes with them. */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  // One registry per gateway (several share a test process); group commits report their size to it.
  const metrics = config.metricsEnabled ? createMetrics() : disabledMetrics();
  const db =
    options.db ??
    (await openDatabase(config.databaseUrl, {
      onBatch: metrics.batch,
      onLockHeld: metrics.workspaceLockHeld,
    }));
  metrics.watch({
    approvalsPending: () => countPendingApprovals(db.reader),
    outboxBacklog: () => countOutboxBacklog(db.reader),
    ledgerBacklog: () => ledgerBacklog(db.reader).then((b) => b.count),
    onError: (err, gauge) => logger.warn({ err, gauge }, 'a metrics gauge could not be read'),
  });
  const dispatcher = createAdapterDispatcher({
    timeoutMs: config.adapterTimeoutMs,
    allowPrivate: config.egressAllowPrivate,
  });
  const clock = options.clock ?? Date.now;
  const sealer = createSealer(config.secretsKey, config.secretsKeyPrevious);
  // Issue 24: the deployment's RFC 9421 key for forwards, published in the Web Bot Auth directory.
  const forwardKeys = new SigningKeys(db, sealer, 'forward');
  await forwardKeys.init(clock());
  const adapters = createAdapterRegistry({
    dispatcher,
    modules: await loadModuleAdapters(config.adaptersDir, {
      timeoutMs: config.moduleAdapterTimeoutMs,
      memoryMb: config.moduleAdapterMemoryMb,
    }),
    // Business signing secrets are sealed at rest: opened once per adapter built.
    openSecret: (stored) => sealer.open(stored),
    // Whether a rotated-out signing secret still signs (issue 12) follows the gateway's clock.
    clock,
    messageSigner: createMessageSigner({
      key: () => forwardKeys.current(),
      agent: config.publicBaseUrl,
      sign: signEd25519,
    }),
  });
  if (ed25519Implementation !== 'libsodium') {
    logger.warn(
      'libsodium (sodium-native) could not load: node:crypto signs receipts and forwards, more slowly',
    );
  }
  if (!sealer.encrypting) {
    logger.warn(
      'SECRETS_KEY is not set: receipt signing keys and business and webhook secrets are stored unencrypted (development only; production requires it)',
    );
  }
  const signingKeys = new SigningKeys(db, sealer);
  await signingKeys.init(clock());
  // Rows written before the audit chain existed (or by an older replica) join it before serving.
  const chained = await chainLegacyAudit({ db });
  if (chained > 0) logger.info({ chained }, 'audit events written before the hash chain were chained');
  const cache = new ConfigCache();
  // A rotation elsewhere (another replica, `warden keys rotate`) moves the config version.
  cache.onChange(async () => {
    await Promise.all([
      signingKeys.reload().catch((err) => logger.error({ err }, 'reloading the receipt signing keys failed')),
      forwardKeys.reload().catch((err) => logger.error({ err }, 'reloading the forward signing keys failed')),
    ]);
  });
  // Email, and the keys for what the gateway signs itself (CSRF fields, one-time codes).
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    logger,
    redact: config.nodeEnv === 'production',
  });
  const keyring = createKeyring(config.secretsKey);
  // OAuth Client ID Metadata Documents (issue 22): small documents, fetched with short timeouts.
  const clientMetadataDispatcher = createAdapterDispatcher({
    timeoutMs: Math.min(config.adapterTimeoutMs, CLIENT_METADATA_TIMEOUT_MS),
    allowPrivate: config.egressAllowPrivate,
    ca: options.outboundCa,
  });
  const withoutOtp: Omit<Deps, 'otp'> = {
    config,
    db,
    adapters,
    logger,
    policies: new PolicyCache(),
    subscriptions: new Subscriptions(),
    cache,
    sealer,
    signingKeys,
    forwardKeys,
    metrics,
    breakers: new Breakers({
      failures: config.breakerFailures,
      windowMs: config.breakerWindowMs,
      cooldownMs: config.breakerCooldownMs,
      // An http call has three phases bounded by ADAPTER_TIMEOUT_MS each (connect, headers, body),
      // after waiting for a slot under ADAPTER_MAX_CONCURRENCY.
      trialLeaseMs: 3 * config.adapterTimeoutMs + config.adapterQueueTimeoutMs + 1_000,
      clock,
      metrics,
    }),
    bulkheads: new Bulkheads({ queueTimeoutMs: config.adapterQueueTimeoutMs, metrics }),
    mailer,
    keyring,
    analytics: new AnalyticsCache(),
    // Console single sign-on (issue 22): the IdPs are reached through an egress-checked pool too.
    sso: new IdentityProviders({
      dispatcher: createAdapterDispatcher({
        timeoutMs: SSO_TIMEOUT_MS,
        allowPrivate: config.egressAllowPrivate,
      }),
      discoveryTtlMs: config.ssoDiscoveryTtlMs,
      allowHttp: config.ssoAllowHttp,
      timeoutSeconds: SSO_TIMEOUT_MS / 1000,
      clock,
    }),
    tracing: await createTracing(config.tracing),
    clock,
    clientMetadataDispatcher,
  };
  // The code service reads and audits through Deps itself, so it joins them once they exist.
  const deps = withoutOtp as Deps;
  deps.otp = createOtpService({ deps, mailer, key: keyring.otp });
  const health: HealthState = { accepting: true, workers: {} };

  // Approvals: webhooks (their own egress-checked pool, shorter timeouts).
  const webhookDispatcher = createAdapterDispatcher({
    timeoutMs: Math.min(config.adapterTimeoutMs, WEBHOOK_TIMEOUT_MS),
    allowPrivate: config.egressAllowPrivate,
  });
  const senders: Senders = {
    email: emailSender({ deps, mailer }),
    webhook: webhookSender({ deps, dispatcher: webhookDispatcher }),
    callback: callbackSender({ deps, dispatcher: webhookDispatcher }),
    slack: slackSender({ deps }),
    teams: teamsSender({ deps, dispatcher: webhookDispatcher }),
    policy_sync: policySyncSender({ deps }),
  };

  const app = new OpenAPIHono<GatewayEnv>();
  // Tests: every answer of a documented route is checked against the route's own schemas.
  if (options.checkResponses) app.use(checkResponses(app));
  // First, so it sees every answer: reads bodies an early refusal left unread (keep-alive stays usable).
  app.use(drainBody());
  if (config.metricsEnabled) app.use(recordMetrics({ metrics }));
  app.use(requestId());
  app.use(wideLog({ logger }));
  // After the log line (it adds the trace id to it), before any work: the server span covers it all.
  if (options.traceRequests !== false) app.use(traceRequests({ tracing: deps.tracing }));
  // Before any work, after the request id and the log line: a shed request is still seen.
  app.use(loadShed({ maxInFlight: config.http.maxInFlight }));
  app.use(bodyLimit({ maxBytes: MAX_BODY_BYTES }));
  // Before every route: text no store keeps is refused here, on each surface in its own form.
  app.use(
    storableText({
      storedAsJson: STORED_AS_JSON,
      answer: (c, refusal) => {
        const path = c.req.path;
        // The OAuth authorization endpoint is a page for people too (it cannot send the browser back).
        if (path === '/console' || path.startsWith('/console/') || path === '/oauth/authorize') {
          return consoleRefusalPage(c, refusal);
        }
        if (path.startsWith('/approve/')) return approvalRefusalPage(c, refusal);
        if (path === '/mcp') return mcpRefusal(c, refusal);
        return undefined;
      },
    }),
  );
  registerDocumentRoutes(app, { publicBaseUrl: config.publicBaseUrl });
  registerHealthRoutes(app, deps, health);
  if (config.metricsEnabled) registerMetricsRoutes(app, { metrics, token: config.metricsToken });
  registerWellKnownRoutes(app, deps);
  registerAgpRoutes(app, deps);
  registerEvaluateRoutes(app, deps);
  const mcp = registerMcpRoutes(app, deps);
  registerAdminRoutes(app, deps);
  registerWorkspaceRoutes(app, deps);
  registerMemberRoutes(app, deps);
  registerSsoRoutes(app, deps);
  registerInviteRoutes(app, deps);
  registerPolicyRoutes(app, deps);
  registerTransactionRoutes(app, deps);
  registerAnalyticsRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerLedgerRoutes(app, deps);
  registerReportRoutes(app, deps);
  registerApprovalRoutes(app, deps);
  registerWebhookRoutes(app, deps);
  registerChannelRoutes(app, deps);
  registerBusinessRoutes(app, deps);
  registerBusinessLifecycleRoutes(app, deps);
  registerOAuthRoutes(app, deps);
  registerOAuthAuthorize(app, deps);
  registerApprovePage(app, deps);
  registerConsole(app, deps);
  app.onError(errorHandler(logger));
  app.notFound(notFound);

  const jobs: Job[] =
    options.jobs === false
      ? []
      : [
          startSweeper(deps),
          startOrphanJob(deps),
          startReleaseJob(deps),
          startDeadlineJob(deps),
          startOutboxJob(deps, senders),
          startSequencer(deps),
        ];
  // /ready waits for these (issue 11); without jobs the tests drive them and nothing is awaited.
  if (jobs.length > 0) health.workers = { outbox: true, deadlines: true, sequencer: true };

  return {
    app,
    deps,
    health,
    notify: { senders, mailer },
    async close() {
      health.accepting = false;
      mcp.close();
      await Promise.all(jobs.map((job) => job.stop()));
      for (const name of Object.keys(health.workers)) health.workers[name] = false;
      await adapters.close();
      await dispatcher.close();
      await webhookDispatcher.close();
      await clientMetadataDispatcher.close();
      mailer.close();
      // The spans batched so far are exported before the process goes.
      await deps.tracing.shutdown().catch((err) => logger.warn({ err }, 'exporting the last spans failed'));
      if (!options.db) await db.close();
    },
  };
}
