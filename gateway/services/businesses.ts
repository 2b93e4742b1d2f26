import { checkOutboundUrl } from '../../adapters/egress.ts';
import type { AdapterConfig } from '../../adapters/types.ts';
import { GatewayError } from '../errors.ts';
import { newSigningSecret } from '../secrets.ts';
import type { Business, BusinessFilter } from '../store/types.ts';
import { auditEvent } from './audit.ts';
import type { Actor, Services } from './context.ts';

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

/** Registers a business; its signing secret (Standard Webhooks) is returned once. */
export async function registerBusiness({
  ctx,
  input,
  actor = { type: 'operator', id: null },
}: {
  ctx: Services;
  input: RegisterBusinessInput;
  actor?: Actor;
}): Promise<{ business: BusinessView; signingSecret: string }> {
  const id = input.id ?? slugify(input.name);
  if (!id) throw new GatewayError('VALIDATION_ERROR', 'The business name gives an empty id; pass an id.');
  if (input.adapter.type === 'http') {
    const check = checkOutboundUrl(input.adapter.baseUrl, { allowPrivate: ctx.config.egressAllowPrivate });
    if (!check.ok) {
      throw new GatewayError('VALIDATION_ERROR', `adapter.baseUrl is not allowed: ${check.reason}`, [
        { path: 'adapter.baseUrl', message: check.reason },
      ]);
    }
  }
  if (input.adapter.type === 'module' && !ctx.adapters.hasModule(input.adapter.name)) {
    throw new GatewayError(
      'VALIDATION_ERROR',
      `No module adapter named ${input.adapter.name} is installed.`,
      [{ path: 'adapter.name', message: 'unknown module adapter' }],
    );
  }
  const at = ctx.clock();
  const business: Business = {
    id,
    name: input.name,
    category: input.category,
    description: input.description ?? '',
    adapter: input.adapter,
    signingSecret: newSigningSecret(),
    createdAt: at,
  };
  const created = await ctx.store.createBusiness(
    business,
    auditEvent({
      workspaceId: null,
      actor,
      action: 'business.registered',
      target: id,
      data: { type: input.adapter.type },
      at,
    }),
  );
  if (!created) throw new GatewayError('CONFLICT', `A business with id ${id} already exists.`);
  return { business: viewBusiness(business), signingSecret: business.signingSecret };
}

export async function listBusinesses({ ctx, filter }: { ctx: Services; filter?: BusinessFilter }) {
  return (await ctx.store.listBusinesses(filter)).map(viewBusiness);
}

export async function requireBusiness(ctx: Services, id: string): Promise<Business> {
  const business = await ctx.store.getBusiness(id);
  if (!business) throw new GatewayError('BUSINESS_NOT_FOUND', `No business with id ${id}.`);
  return business;
}
