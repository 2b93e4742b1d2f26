import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { AdapterRegistry } from '../../adapters/index.ts';
import type { Config } from '../../config/index.ts';
import type { Sealer } from '../crypto/sealing.ts';
import type { Db } from '../db/types.ts';
import { type Actor, GatewayError, type McpTrace, SYSTEM } from '../domain/index.ts';
import { newId } from '../ids.ts';
import type { Metrics } from '../metrics/index.ts';
import type { Mailer } from '../notify/mailer.ts';
import type { OtpService } from './approvals/otp-types.ts';
import type { SigningKeys } from './ledger/signing-keys.ts';
import type { Subscriptions } from './notifications/subscriptions.ts';
import type { Breakers } from './platform/breaker.ts';
import type { Bulkheads } from './platform/bulkhead.ts';
import type { ConfigCache } from './platform/config-cache.ts';
import type { Keyring } from './platform/keyring.ts';
import type { PolicyCache } from './policy/policy-cache.ts';
import type { AnalyticsCache } from './reporting/analytics-cache.ts';
import type { IdentityProviders } from './sso/providers.ts';

/** What every service needs, built once by the composition root (gateway/app.ts). */
export interface Deps {
  config: Config;
  db: Db;
  adapters: AdapterRegistry;
  logger: Logger;
  policies: PolicyCache;
  subscriptions: Subscriptions;
  /** Agent keys, businesses and policy pointers of the current config version. */
  cache: ConfigCache;
  /** Seals and opens secrets stored at rest (SECRETS_KEY). */
  sealer: Sealer;
  /** The receipt signing keys (DESIGN §9). */
  signingKeys: SigningKeys;
  /** Prometheus counters and histograms (GET /metrics). */
  metrics: Metrics;
  /** The circuit breaker of each business, per replica (issue 12). */
  breakers: Breakers;
  /** The cap on adapter calls in flight to each business, per replica (issue 18). */
  bulkheads: Bulkheads;
  /** Sends mail straight away (sign-in links, invites, one-time codes); the outbox uses it too. */
  mailer: Mailer;
  /** Critical-tier one-time codes (DESIGN §5). */
  otp: OtpService;
  /** Keys for what the gateway signs or hashes itself (CSRF fields, one-time codes). */
  keyring: Keyring;
  /** The console overview's recent analytics, per workspace and range. */
  analytics: AnalyticsCache;
  /** Console single sign-on (issue 22): the identity providers' cached metadata and clients. */
  sso: IdentityProviders;
  /** Epoch ms; injectable so tests can move time. */
  clock: () => number;
  /**
   * Issue 22: fetches OAuth Client ID Metadata Documents, through the egress-checked pool
   * (EGRESS_ALLOW_PRIVATE), with their own short timeouts.
   */
  clientMetadataDispatcher: Dispatcher;
}

/**
 * The one shape every service verb receives (STYLE 12): its dependencies, the workspace it acts
 * in (from the caller's key or token, never from a body: DESIGN §3), who acts, and the request.
 */
export interface ServiceContext {
  deps: Deps;
  /** Null for operator and system work that belongs to no workspace. */
  workspaceId: string | null;
  actor: Actor;
  requestId?: string;
  /** The config version this request read when it authenticated (see ConfigCache). */
  configVersion?: number;
  /** Set when the call came over MCP (issue 13): written on the transactions it makes. */
  mcp?: McpTrace;
}

/**
 * What a step inside a transaction (`step(tx, ctx, input)`) reads of the context: the Deps it uses,
 * and the request id and actor when it has them. A ServiceContext is one; a test may pass `{ deps }`.
 */
export interface StepContext<K extends keyof Deps = keyof Deps> {
  deps: Pick<Deps, K>;
  workspaceId?: string | null;
  actor?: Actor;
  requestId?: string;
}

/**
 * A job's round (release, deadlines): the system acting as that job, with a request id of its own
 * so what it forwards and logs can be traced like a request's.
 */
export function jobContext(deps: Deps, job: string, workspaceId: string | null = null): ServiceContext {
  return { deps, workspaceId, actor: { type: 'system', id: `job:${job}` }, requestId: newId('request') };
}

/** Background work (jobs, the outbox): the system acting, in `workspaceId` when it has one. */
export function systemContext(deps: Deps, workspaceId: string | null = null): ServiceContext {
  return { deps, workspaceId, actor: SYSTEM };
}

/** The workspace a workspace-bound verb acts in; a call without one is a programming error. */
export function workspaceOf(ctx: ServiceContext): string {
  if (ctx.workspaceId === null) throw new GatewayError('INTERNAL_ERROR', 'This action needs a workspace.');
  return ctx.workspaceId;
}
