import { z } from 'zod';

/** Env booleans: only the spellings an operator would write. */
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Every environment variable Warden reads (DESIGN §10), with its default.
 * Parsed once at start; nothing reads process.env at request time.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65_535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * Issue 18: slow clients. A request's headers must arrive within HTTP_HEADERS_TIMEOUT_MS and the
   * whole request within HTTP_REQUEST_TIMEOUT_MS of its first byte (else 408 and the connection is
   * closed); an idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS.
   */
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(5_000),
  /** Open connections per replica (Node's server.maxConnections); more are closed at once. 0 = no cap. */
  HTTP_MAX_CONNECTIONS: int(0, 1_000_000).default(4_096),
  /** Open connections from one client address; more are closed at once. 0 = no cap. */
  HTTP_MAX_CONNECTIONS_PER_IP: int(0, 1_000_000).default(512),
  /** Requests in progress per replica; past it 503 SERVICE_UNAVAILABLE with Retry-After (not /health, /ready). 0 = no cap. */
  HTTP_MAX_IN_FLIGHT: int(0, 1_000_000).default(256),
  DATABASE_URL: z
    .string()
    .regex(
      /^(file:|postgres(ql)?:)/,
      'must start with file: (the embedded database) or postgres:// (PostgreSQL, for many replicas)',
    )
    .default('file:./data/warden.db'),
  WARDEN_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  AGENR_EXECUTE_POLICY: z.enum(['open', 'confirm', 'strict']).default('open'),
  AGENR_MAX_EXECUTE_AMOUNT: int(0, Number.MAX_SAFE_INTEGER).default(100),
  CONFIRMATION_TOKEN_TTL_SECONDS: int(1, 86_400).default(300),
  ADAPTER_TIMEOUT_MS: int(1, 600_000).default(30_000),
  /**
   * Issue 18: adapter calls in flight to one business, per replica; past it a call waits for a slot
   * (ADAPTER_QUEUE_TIMEOUT_MS), then is refused with 503 ADAPTER_UNAVAILABLE. 0 = no cap.
   */
  ADAPTER_MAX_CONCURRENCY: int(0, 100_000).default(64),
  /** How long a call past ADAPTER_MAX_CONCURRENCY waits for a slot; 0 = refused at once. */
  ADAPTER_QUEUE_TIMEOUT_MS: int(0, 600_000).default(5_000),
  ORPHAN_GRACE_SECONDS: int(0, 86_400).default(60),
  /** DESIGN §9: committed receipts and audit events are appended to the ledger log within this. */
  LEDGER_SEQUENCE_MS: int(50, 3_600_000).default(1_000),
  /** After a business rotates its signing secret, requests are signed with the old one too this long. */
  SIGNING_SECRET_OVERLAP_SECONDS: int(0, 2_592_000).default(86_400),
  ADAPTERS_DIR: z.string().min(1).optional(),
  /** Issue 12: each module adapter runs in a worker; a call still running then stops it (504). */
  MODULE_ADAPTER_TIMEOUT_MS: int(1, 600_000).optional(),
  /** The worker's V8 heap limit; a module that exhausts it costs its calls a 502, never the gateway. */
  MODULE_ADAPTER_MEMORY_MB: int(8, 4_096).default(64),
  PUBLIC_BASE_URL: z.url().optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Warden <warden@localhost>'),
  SECRETS_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Earlier SECRETS_KEY values, comma-separated: they still open what they sealed (rotation). */
  SECRETS_KEY_PREVIOUS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(32, 'each key must be at least 32 characters')))
    .optional(),
  EGRESS_ALLOW_PRIVATE: bool.optional(),
  /** Browser origins allowed to call POST /mcp (issue 13), comma-separated; empty: none. */
  MCP_ALLOWED_ORIGINS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().url('each origin must be a URL such as https://app.example')))
    .optional(),
  /**
   * MCP sessions (issue 13): `memory` keeps each client's session on the replica that opened it
   * (client name, capabilities, elicitation; route by `Mcp-Session-Id` with several replicas);
   * `none` answers every POST on its own (any replica; no elicitation; JSON answers).
   */
  MCP_SESSIONS: z.enum(['memory', 'none']).default('memory'),
  /** An MCP session unused this long is closed (the client opens a new one). */
  MCP_SESSION_IDLE_MINUTES: int(1, 1440).default(30),
  /** At most this many MCP sessions per replica; the least recently used is closed beyond it. */
  MCP_MAX_SESSIONS: int(1, 1_000_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  APPROVAL_TIMEOUT_MIN_SECONDS: int(1, 2_592_000).default(60),
  RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(0),
  /** When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** false: no metrics are recorded and GET /metrics is not served. */
  METRICS_ENABLED: bool.default(true),
  /** Circuit breaker per business (issue 12): consecutive connect failures or timeouts that open it; 0 = off. */
  BREAKER_FAILURES: int(0, 10_000).default(5),
  /** The failures must fall within this many seconds from the first of them. */
  BREAKER_WINDOW_SECONDS: int(1, 86_400).default(30),
  /** How long an open breaker fails calls fast before one trial call. */
  BREAKER_COOLDOWN_SECONDS: int(1, 86_400).default(30),
  /** Console (issue 14): a session unused this long ends (idle expiry). */
  CONSOLE_IDLE_MINUTES: int(1, 10_080).default(30),
  /**
   * Issue 22: Warden as the OAuth authorization server of /mcp and the agent API. Dynamic client
   * registration (RFC 7591) can be turned off (clients then come by Client ID Metadata Document);
   * access tokens are short-lived, refresh tokens rotate on every use.
   */
  OAUTH_DYNAMIC_REGISTRATION: bool.optional(),
  OAUTH_ACCESS_TOKEN_TTL_SECONDS: int(60, 86_400).default(900),
  OAUTH_REFRESH_TOKEN_TTL_SECONDS: int(300, 31_536_000).default(2_592_000),
  /** Console: a session ends this long after sign-in whatever its use (absolute expiry). */
  CONSOLE_SESSION_HOURS: int(1, 720).default(12),
  /** Console single sign-on (issue 22): how long an identity provider's discovery document is reused. */
  SSO_DISCOVERY_TTL_SECONDS: int(0, 86_400).default(3_600),
  /** Whether an identity provider may be reached over plain http (default: outside production only). */
  SSO_ALLOW_HTTP: bool.optional(),
});

export type EnvInput = z.input<typeof envSchema>;

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** The HTTP server's own limits (issue 18): slow clients, connections, requests in progress. */
  http: HttpLimits;
  databaseUrl: string;
  adminToken: string | undefined;
  executeMode: 'open' | 'confirm' | 'strict';
  maxExecuteAmount: number;
  confirmationTokenTtlMs: number;
  adapterTimeoutMs: number;
  /** Adapter calls in flight per business (0: no cap), and how long one past it waits (issue 18). */
  adapterMaxConcurrency: number;
  adapterQueueTimeoutMs: number;
  /** An execute still `pending` this long after ADAPTER_TIMEOUT_MS lost its process: `unknown` (DESIGN §4). */
  orphanGraceMs: number;
  /** The ledger log's sequencer appends what committed within this (DESIGN §9). */
  ledgerSequenceMs: number;
  /** Issue 12: how long a rotated-out signing secret still signs forwarded requests. */
  signingSecretOverlapMs: number;
  adaptersDir: string | undefined;
  /** Module adapter workers (issue 12): per-call time limit (default ADAPTER_TIMEOUT_MS) and heap. */
  moduleAdapterTimeoutMs: number;
  moduleAdapterMemoryMb: number;
  publicBaseUrl: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Seals secrets at rest (gateway/crypto/sealing.ts); required in production. */
  secretsKey: string | undefined;
  secretsKeyPrevious: string[];
  egressAllowPrivate: boolean;
  /** Origins a browser may send to /mcp; an MCP request with another Origin is 403 (DNS rebinding). */
  mcpAllowedOrigins: string[];
  mcpSessions: 'memory' | 'none';
  mcpSessionIdleMs: number;
  mcpMaxSessions: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  approvalTimeoutMinSeconds: number;
  rateLimitPerMinute: number;
  metricsEnabled: boolean;
  metricsToken: string | undefined;
  /** Circuit breaker per business: failures that open it (0 = off), their window, the cool-down. */
  breakerFailures: number;
  breakerWindowMs: number;
  breakerCooldownMs: number;
  /** Console sessions (issue 14): idle and absolute expiry. */
  consoleIdleMs: number;
  oauth: { dynamicRegistration: boolean; accessTokenMs: number; refreshTokenMs: number };
  consoleSessionMs: number;
  /** Console single sign-on (issue 22): discovery cache lifetime, and plain-http identity providers. */
  ssoDiscoveryTtlMs: number;
  ssoAllowHttp: boolean;
}

export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0: no cap (likewise below). */
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxInFlight: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'WARDEN_ADMIN_TOKEN',
  'SECRETS_KEY',
  'SECRETS_KEY_PREVIOUS',
  'METRICS_TOKEN',
]);

/** Reads the schema's variables from `env`; empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? '(env)');
        const value = input[variable];
        // A rejected secret may still be the real one, one character short: never echo it to logs.
        // Same for a password in a URL (DATABASE_URL, SMTP_URL).
        const got = SECRET_VARIABLES.has(variable)
          ? `${value?.length ?? 0} characters`
          : JSON.stringify(value?.replace(/(\/\/[^/:@]*:)[^@/]*@/, '$1***@'));
        return { variable, message: `${issue.message} (got ${got})` };
      }),
    );
  }
  const e = parsed.data;
  if (e.HTTP_REQUEST_TIMEOUT_MS < e.HTTP_HEADERS_TIMEOUT_MS) {
    // Node refuses a server whose request timeout is shorter than its headers timeout.
    throw new ConfigError([
      {
        variable: 'HTTP_REQUEST_TIMEOUT_MS',
        message: `must be at least HTTP_HEADERS_TIMEOUT_MS (${e.HTTP_HEADERS_TIMEOUT_MS}) (got ${e.HTTP_REQUEST_TIMEOUT_MS})`,
      },
    ]);
  }
  if (e.NODE_ENV === 'production' && !e.SECRETS_KEY) {
    // Receipt signing keys and business and webhook secrets are sealed under it (issue 10): in
    // production they are never stored in clear.
    throw new ConfigError([
      {
        variable: 'SECRETS_KEY',
        message:
          'is required in production: it encrypts signing keys and secrets at rest (at least 32 characters)',
      },
    ]);
  }
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    http: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      maxConnectionsPerIp: e.HTTP_MAX_CONNECTIONS_PER_IP,
      maxInFlight: e.HTTP_MAX_IN_FLIGHT,
    },
    databaseUrl: e.DATABASE_URL,
    adminToken: e.WARDEN_ADMIN_TOKEN,
    executeMode: e.AGENR_EXECUTE_POLICY,
    maxExecuteAmount: e.AGENR_MAX_EXECUTE_AMOUNT,
    confirmationTokenTtlMs: e.CONFIRMATION_TOKEN_TTL_SECONDS * 1000,
    adapterTimeoutMs: e.ADAPTER_TIMEOUT_MS,
    adapterMaxConcurrency: e.ADAPTER_MAX_CONCURRENCY,
    adapterQueueTimeoutMs: e.ADAPTER_QUEUE_TIMEOUT_MS,
    orphanGraceMs: e.ORPHAN_GRACE_SECONDS * 1000,
    ledgerSequenceMs: e.LEDGER_SEQUENCE_MS,
    signingSecretOverlapMs: e.SIGNING_SECRET_OVERLAP_SECONDS * 1000,
    adaptersDir: e.ADAPTERS_DIR,
    moduleAdapterTimeoutMs: e.MODULE_ADAPTER_TIMEOUT_MS ?? e.ADAPTER_TIMEOUT_MS,
    moduleAdapterMemoryMb: e.MODULE_ADAPTER_MEMORY_MB,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    secretsKey: e.SECRETS_KEY,
    secretsKeyPrevious: e.SECRETS_KEY_PREVIOUS ?? [],
    // DESIGN §7: private addresses are allowed by default outside production.
    egressAllowPrivate: e.EGRESS_ALLOW_PRIVATE ?? e.NODE_ENV !== 'production',
    mcpAllowedOrigins: (e.MCP_ALLOWED_ORIGINS ?? []).map((o) => new URL(o).origin),
    mcpSessions: e.MCP_SESSIONS,
    mcpSessionIdleMs: e.MCP_SESSION_IDLE_MINUTES * 60_000,
    mcpMaxSessions: e.MCP_MAX_SESSIONS,
    logLevel: e.LOG_LEVEL,
    approvalTimeoutMinSeconds: e.APPROVAL_TIMEOUT_MIN_SECONDS,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    metricsEnabled: e.METRICS_ENABLED,
    metricsToken: e.METRICS_TOKEN,
    breakerFailures: e.BREAKER_FAILURES,
    breakerWindowMs: e.BREAKER_WINDOW_SECONDS * 1000,
    breakerCooldownMs: e.BREAKER_COOLDOWN_SECONDS * 1000,
    consoleIdleMs: e.CONSOLE_IDLE_MINUTES * 60_000,
    oauth: {
      dynamicRegistration: e.OAUTH_DYNAMIC_REGISTRATION ?? true,
      accessTokenMs: e.OAUTH_ACCESS_TOKEN_TTL_SECONDS * 1000,
      refreshTokenMs: e.OAUTH_REFRESH_TOKEN_TTL_SECONDS * 1000,
    },
    consoleSessionMs: e.CONSOLE_SESSION_HOURS * 3_600_000,
    ssoDiscoveryTtlMs: e.SSO_DISCOVERY_TTL_SECONDS * 1000,
    // An IdP over plain http could be impersonated on the path: https only in production by default.
    ssoAllowHttp: e.SSO_ALLOW_HTTP ?? e.NODE_ENV !== 'production',
  };
}
