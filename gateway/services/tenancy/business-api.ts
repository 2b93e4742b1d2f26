import { checkOutboundUrl } from '../../../adapters/egress.ts';
import { type AdapterConfig, AdapterError } from '../../../adapters/types.ts';
import type { Conn } from '../../db/types.ts';
import {
  type Business,
  type BusinessStatus,
  GatewayError,
  type TransactionStatus,
} from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  type BusinessCall,
  listBusinessCalls,
  rotateSigningSecrets,
  updateBusinessAdapter,
  updateBusinessProfile,
} from '../../repositories/businesses.ts';
import { getBusiness } from '../../repositories/tenancy.ts';
import { newSigningSecret } from '../../secrets.ts';
import type { ServiceContext } from '../context.ts';
import { auditEvent, chainScope } from '../ledger/index.ts';

/**
 * The business API (issue 12): a business, authenticated by its own key, reads and changes its
 * profile and adapter, tests the adapter, rotates its signing secret and reads the calls agents made
 * to it. Every change is audited on the operator's chain (the business belongs to no workspace) in
 * the transaction that makes it, and bumps the config version, so the next call on every replica
 * uses it (the adapter registry rebuilds an adapter whose config or secrets changed).
 */

export interface OwnBusinessView {
  business: { id: string; name: string; category: string; description: string; status: BusinessStatus };
  /** The adapter config as stored: signing secrets are never part of it. */
  adapter: AdapterConfig;
}

/** The business the key acting belongs to. */
function businessIdOf(ctx: ServiceContext): string {
  if (ctx.actor.type !== 'business' || !ctx.actor.id) {
    throw new GatewayError('INTERNAL_ERROR', 'This action needs a business key.');
  }
  return ctx.actor.id;
}

async function own(conn: Conn, id: string): Promise<Business> {
  const business = await getBusiness(conn, id);
  // The key was valid a moment ago; a business deleted since is simply gone for it.
  if (!business) throw new GatewayError('UNAUTHORIZED', 'A valid API key is required.');
  return business;
}

const view = (b: Business): OwnBusinessView => ({
  business: { id: b.id, name: b.name, category: b.category, description: b.description, status: b.status },
  adapter: b.adapter,
});

export async function getOwnBusiness({ ctx }: { ctx: ServiceContext }): Promise<OwnBusinessView> {
  return view(await own(ctx.deps.db.reader, businessIdOf(ctx)));
}

export async function updateOwnBusiness({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { name?: string; description?: string };
}): Promise<OwnBusinessView> {
  const id = businessIdOf(ctx);
  const at = ctx.deps.clock();
  return ctx.deps.db.transaction(chainScope(null), async (tx) => {
    const current = await own(tx, id);
    const next = { name: input.name ?? current.name, description: input.description ?? current.description };
    await updateBusinessProfile(tx, id, next);
    await appendAudit(tx, auditEvent(ctx, 'business.updated', id, { ...input }, at));
    return view({ ...current, ...next });
  });
}

export type HttpAdapterInput = Extract<AdapterConfig, { type: 'http' }>;

export async function setOwnAdapter({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: HttpAdapterInput;
}): Promise<OwnBusinessView> {
  const { config } = ctx.deps;
  const id = businessIdOf(ctx);
  // DESIGN §7: the same outbound check as when the operator registers one.
  const check = checkOutboundUrl(input.baseUrl, { allowPrivate: config.egressAllowPrivate });
  if (!check.ok) {
    throw new GatewayError('VALIDATION_ERROR', `baseUrl is not allowed: ${check.reason}`, [
      { path: 'baseUrl', message: check.reason },
    ]);
  }
  if (input.timeoutMs !== undefined && input.timeoutMs > config.adapterTimeoutMs) {
    const message = `at most ADAPTER_TIMEOUT_MS (${config.adapterTimeoutMs})`;
    throw new GatewayError('VALIDATION_ERROR', `timeoutMs must be ${message}.`, [
      { path: 'timeoutMs', message },
    ]);
  }
  const cap = config.adapterMaxConcurrency;
  if (input.maxConcurrency !== undefined && cap > 0 && input.maxConcurrency > cap) {
    const message = `at most ADAPTER_MAX_CONCURRENCY (${cap})`;
    throw new GatewayError('VALIDATION_ERROR', `maxConcurrency must be ${message}.`, [
      { path: 'maxConcurrency', message },
    ]);
  }
  const adapter: HttpAdapterInput = {
    type: 'http',
    baseUrl: input.baseUrl,
    ...(input.operations ? { operations: input.operations } : {}),
    ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }),
    ...(input.maxConcurrency === undefined ? {} : { maxConcurrency: input.maxConcurrency }),
    ...(input.signatures === undefined ? {} : { signatures: input.signatures }),
  };
  const at = ctx.deps.clock();
  return ctx.deps.db.transaction(chainScope(null), async (tx) => {
    const current = await own(tx, id);
    await updateBusinessAdapter(tx, id, adapter);
    const data = { from: current.adapter, to: adapter };
    await appendAudit(tx, auditEvent(ctx, 'business.adapter_changed', id, data, at));
    return view({ ...current, adapter });
  });
}

export interface AdapterTestResult {
  ok: boolean;
  /** The status the adapter reported (`succeeded`, `failed`, `pending_confirmation`); null when it failed. */
  status: string | null;
  latencyMs: number;
  /** The HTTP status of a non-2xx answer. */
  upstreamStatus?: number;
  error?: { code: string; message: string };
}

/**
 * Sends a signed `discover` to the business's adapter, as agents' calls are sent, and says how it
 * went. Nothing is recorded in the ledger, and the circuit breaker is not consulted: a business
 * must be able to check its endpoint while agents are kept away from it.
 */
export async function testOwnAdapter({ ctx }: { ctx: ServiceContext }): Promise<AdapterTestResult> {
  const { deps } = ctx;
  const business = await own(deps.db.reader, businessIdOf(ctx));
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const adapter = deps.adapters.adapterFor(business);
    const result = await adapter.discover({
      businessId: business.id,
      transactionId: newId('transaction'),
      requestId: ctx.requestId,
    });
    return { ok: true, status: result.status, latencyMs: latency() };
  } catch (err) {
    const latencyMs = latency();
    if (err instanceof AdapterError) {
      return {
        ok: false,
        status: null,
        latencyMs,
        ...(err.upstreamStatus === undefined ? {} : { upstreamStatus: err.upstreamStatus }),
        error: { code: err.code, message: err.message },
      };
    }
    deps.logger.warn({ err, businessId: business.id }, 'an adapter test failed unexpectedly');
    return {
      ok: false,
      status: null,
      latencyMs,
      error: { code: 'ADAPTER_ERROR', message: 'The adapter failed.' },
    };
  }
}

/**
 * A new signing secret, shown once and stored sealed. For SIGNING_SECRET_OVERLAP_SECONDS the one it
 * replaces signs every forwarded request too (both in `webhook-signature`), so the business can
 * deploy the new secret without refusing a call. A second rotation within the overlap drops the
 * oldest: only the secret just replaced keeps signing.
 */
export async function rotateOwnSigningSecret({
  ctx,
}: {
  ctx: ServiceContext;
}): Promise<{ signingSecret: string; previousValidUntil: number }> {
  const { deps } = ctx;
  const id = businessIdOf(ctx);
  const signingSecret = newSigningSecret();
  const at = deps.clock();
  const previousValidUntil = at + deps.config.signingSecretOverlapMs;
  const rotated = await deps.db.transaction(chainScope(null), async (tx) => {
    const current = await own(tx, id);
    const done = await rotateSigningSecrets(tx, id, {
      from: current.signingSecret,
      current: deps.sealer.seal(signingSecret),
      previous: current.signingSecret,
      previousUntil: previousValidUntil,
    });
    if (!done) return false;
    const data = { previousValidUntil: new Date(previousValidUntil).toISOString() };
    await appendAudit(tx, auditEvent(ctx, 'business.signing_secret_rotated', id, data, at));
    return true;
  });
  if (!rotated) throw new GatewayError('CONFLICT', 'The signing secret changed meanwhile; rotate again.');
  return { signingSecret, previousValidUntil };
}

export interface CallsQuery {
  status?: TransactionStatus;
  from?: number;
  to?: number;
  cursor?: string;
  limit: number;
}

export async function listOwnCalls({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { filter: CallsQuery };
}): Promise<{ calls: BusinessCall[]; nextCursor: string | null }> {
  const { filter } = input;
  const rows = await listBusinessCalls(ctx.deps.db.reader, businessIdOf(ctx), {
    ...filter,
    limit: filter.limit + 1,
  });
  const calls = rows.slice(0, filter.limit);
  const last = calls.at(-1);
  return { calls, nextCursor: rows.length > filter.limit && last ? last.id : null };
}
