import { checkOutboundUrl } from '../../../adapters/egress.ts';
import type { AdapterConfig } from '../../../adapters/types.ts';
import { type Business, type BusinessFilter, GatewayError } from '../../domain/index.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { listBusinesses as directory, getBusiness, insertBusiness } from '../../repositories/tenancy.ts';
import { hashSecret, newSecret, newSigningSecret } from '../../secrets.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent, chainScope } from '../ledger/index.ts';

export interface BusinessView {
  id: string;
  name: string;
  category: string;
  description: string;
}

export const viewBusiness = (b: Business): BusinessView => ({
  id: b.id,
  name: b.name,
  category: b.category,
  description: b.description,
});

export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

export interface RegisterBusinessInput {
  id?: string;
  name: string;
  category: string;
  description?: string;
  adapter: AdapterConfig;
}

/** Registers a business; its signing secret (Standard Webhooks) is returned once, stored sealed. */
export async function registerBusiness({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: RegisterBusinessInput;
}): Promise<{ business: BusinessView; signingSecret: string; businessKey: string }> {
  const { config, adapters, db } = ctx.deps;
  const id = input.id ?? slugify(input.name);
  if (!id) throw new GatewayError('VALIDATION_ERROR', 'The business name gives an empty id; pass an id.');
  if (input.adapter.type === 'http') {
    const check = checkOutboundUrl(input.adapter.baseUrl, { allowPrivate: config.egressAllowPrivate });
    if (!check.ok) {
      throw new GatewayError('VALIDATION_ERROR', `adapter.baseUrl is not allowed: ${check.reason}`, [
        { path: 'adapter.baseUrl', message: check.reason },
      ]);
    }
  }
  if (input.adapter.type === 'module' && !adapters.hasModule(input.adapter.name)) {
    throw new GatewayError(
      'VALIDATION_ERROR',
      `No module adapter named ${input.adapter.name} is installed.`,
      [{ path: 'adapter.name', message: 'unknown module adapter' }],
    );
  }
  const at = ctx.deps.clock();
  // Shown once, in clear; stored sealed under SECRETS_KEY (issue 10), opened by the adapter registry.
  const signingSecret = newSigningSecret();
  const business: Business = {
    id,
    name: input.name,
    category: input.category,
    description: input.description ?? '',
    adapter: input.adapter,
    signingSecret: ctx.deps.sealer.seal(signingSecret),
    createdAt: at,
    status: 'live',
    sandboxWorkspaces: [],
    previousSigningSecret: null,
    previousSecretUntil: null,
  };
  // Issue 12: the business's own key, shown once, stored as its SHA-256 like agent keys.
  const businessKey = newSecret('businessKey');
  const audit = auditEvent(ctx, 'business.registered', id, { type: input.adapter.type }, at);
  // The operator's audit chain: one writer at a time extends it (DESIGN §9).
  const created = await db.transaction(chainScope(null), async (tx) => {
    if (!(await insertBusiness(tx, business, hashSecret(businessKey)))) return false;
    await appendAudit(tx, audit);
    return true;
  });
  if (!created) throw new GatewayError('CONFLICT', `A business with id ${id} already exists.`);
  return { business: viewBusiness(business), signingSecret, businessKey };
}

export async function listBusinesses({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input?: { filter?: BusinessFilter };
}) {
  const { filter } = input ?? {};
  return (await directory(ctx.deps.db.reader, filter)).map(viewBusiness);
}

/**
 * The businesses a member's workspace can use (the console): live ones, sandbox ones that list this
 * workspace, and suspended ones (shown as such: they take no calls). Archived ones and other
 * workspaces' sandboxes are left out, as assertCallable hides them from agents.
 */
export async function listWorkspaceBusinesses({ ctx }: { ctx: ServiceContext }) {
  const workspaceId = workspaceOf(ctx);
  return (await directory(ctx.deps.db.reader))
    .filter(
      (b) =>
        b.status === 'live' ||
        b.status === 'suspended' ||
        (b.status === 'sandbox' && b.sandboxWorkspaces.includes(workspaceId)),
    )
    .map((b) => ({ ...viewBusiness(b), status: b.status }));
}

/** Every business with its lifecycle (issue 12), as the operator sees them: whatever the status. */
export async function listBusinessesForOperator({ ctx }: { ctx: ServiceContext }) {
  return (await directory(ctx.deps.db.reader)).map((b) => ({
    ...viewBusiness(b),
    status: b.status,
    sandboxWorkspaces: b.sandboxWorkspaces,
  }));
}

/** The business, from the config cache when the request read a config version (agent routes). */
export async function requireBusiness(ctx: ServiceContext, id: string): Promise<Business> {
  const reader = ctx.deps.db.reader;
  const business =
    ctx.configVersion === undefined
      ? await getBusiness(reader, id)
      : await ctx.deps.cache.business(reader, ctx.configVersion, id);
  if (!business) throw new GatewayError('BUSINESS_NOT_FOUND', `No business with id ${id}.`);
  return business;
}

/**
 * Issue 12, the lifecycle: whether `workspaceId`'s agents may call `business`. The one check every
 * AGP route runs where it resolves the business (requireCallableBusiness, and execute's own lookup).
 * A sandbox business outside its list and an archived one answer exactly like an unknown id, so
 * neither leaks that it exists; a suspended one says so (403), and nothing is forwarded.
 */
export function assertCallable(business: Business, workspaceId: string): void {
  const missing = () => new GatewayError('BUSINESS_NOT_FOUND', `No business with id ${business.id}.`);
  switch (business.status) {
    case 'live':
      return;
    case 'sandbox':
      if (business.sandboxWorkspaces.includes(workspaceId)) return;
      throw missing();
    case 'suspended':
      throw new GatewayError(
        'BUSINESS_SUSPENDED',
        `Business ${business.id} is suspended: it takes no calls.`,
      );
    default:
      throw missing();
  }
}

/** requireBusiness for an agent's call: the business must be callable by the agent's workspace. */
export async function requireCallableBusiness(ctx: ServiceContext, id: string): Promise<Business> {
  const business = await requireBusiness(ctx, id);
  assertCallable(business, workspaceOf(ctx));
  return business;
}
