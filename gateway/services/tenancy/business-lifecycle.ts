import { type Business, type BusinessStatus, GatewayError } from '../../domain/index.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  existingWorkspaces,
  revokeBusinessKey as revokeKey,
  setBusinessKey,
  updateBusinessStatus,
} from '../../repositories/businesses.ts';
import { getBusiness } from '../../repositories/tenancy.ts';
import { hashSecret, newSecret } from '../../secrets.ts';
import type { ServiceContext } from '../context.ts';
import { auditEvent, chainScope } from '../ledger/index.ts';

/**
 * The operator's side of a business (issue 12): its key, rotated or revoked, and its lifecycle
 * status. Audited on the operator's chain in the transaction that makes the change.
 */

const notFound = (id: string) => new GatewayError('NOT_FOUND', `No business with id ${id}.`);

/** A new business key, shown once; the old one is refused from the next request on. */
export async function rotateBusinessKey({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string };
}): Promise<{ businessKey: string }> {
  const businessKey = newSecret('businessKey');
  const at = ctx.deps.clock();
  const done = await ctx.deps.db.transaction(chainScope(null), async (tx) => {
    if (!(await setBusinessKey(tx, input.id, hashSecret(businessKey)))) return false;
    await appendAudit(tx, auditEvent(ctx, 'business.key_rotated', input.id, {}, at));
    return true;
  });
  if (!done) throw notFound(input.id);
  return { businessKey };
}

/** The business has no key afterwards; NOT_FOUND when it had none (or does not exist). */
export async function revokeBusinessKey({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const at = ctx.deps.clock();
  const done = await ctx.deps.db.transaction(chainScope(null), async (tx) => {
    if (!(await revokeKey(tx, input.id))) return false;
    await appendAudit(tx, auditEvent(ctx, 'business.key_revoked', input.id, {}, at));
    return true;
  });
  if (!done) throw new GatewayError('NOT_FOUND', `Business ${input.id} has no key to revoke.`);
}

export interface StatusInput {
  id: string;
  status: BusinessStatus;
  /** Replaces the sandbox list when given; kept otherwise. */
  sandboxWorkspaces?: string[];
}

export interface LifecycleView {
  id: string;
  name: string;
  category: string;
  description: string;
  status: BusinessStatus;
  sandboxWorkspaces: string[];
}

const lifecycleView = (b: Business): LifecycleView => ({
  id: b.id,
  name: b.name,
  category: b.category,
  description: b.description,
  status: b.status,
  sandboxWorkspaces: b.sandboxWorkspaces,
});

/**
 * Moves a business through live, sandbox, suspended and archived (any to any: an archived business
 * keeps its history and can be brought back). Bumps the config version: every replica applies it
 * from its next call.
 */
export async function setBusinessStatus({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: StatusInput;
}): Promise<LifecycleView> {
  const { db } = ctx.deps;
  const wanted = [...new Set(input.sandboxWorkspaces ?? [])];
  if (wanted.length > 0) {
    const known = await existingWorkspaces(db.reader, wanted);
    const unknown = wanted.filter((w) => !known.has(w));
    if (unknown.length > 0) {
      throw new GatewayError('VALIDATION_ERROR', `No workspace with id ${unknown.join(', ')}.`, [
        { path: 'sandboxWorkspaces', message: `unknown workspaces: ${unknown.join(', ')}` },
      ]);
    }
  }
  const at = ctx.deps.clock();
  const updated = await db.transaction(chainScope(null), async (tx) => {
    const current = await getBusiness(tx, input.id);
    if (!current) return undefined;
    const sandboxWorkspaces = input.sandboxWorkspaces === undefined ? current.sandboxWorkspaces : wanted;
    await updateBusinessStatus(tx, input.id, input.status, sandboxWorkspaces);
    const data = { from: current.status, to: input.status, sandboxWorkspaces };
    await appendAudit(tx, auditEvent(ctx, 'business.status_changed', input.id, data, at));
    return { ...current, status: input.status, sandboxWorkspaces };
  });
  if (!updated) throw notFound(input.id);
  return lifecycleView(updated);
}
