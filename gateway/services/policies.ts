import { canonicalHash } from '../../policy/canonical.ts';
import { type CompiledPolicy, compilePolicy, validatePolicy } from '../../policy/index.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { PolicyPointer, PolicyVersion } from '../store/types.ts';
import { auditEvent } from './audit.ts';
import type { Actor, Services } from './context.ts';

/** The policy governing AGP traffic unless an agent key is bound to another (DESIGN §6). */
export const DEFAULT_POLICY = 'default';

const iso = (ms: number) => new Date(ms).toISOString();

export const viewPointer = (p: PolicyPointer) => ({
  name: p.name,
  version: p.version,
  versionId: p.versionId,
  updatedAt: iso(p.updatedAt),
});

export const viewVersion = (v: PolicyVersion) => ({
  name: v.name,
  version: v.version,
  versionId: v.id,
  createdAt: iso(v.createdAt),
  createdBy: v.createdBy,
  document: v.document,
});

/** Validates and stores a new immutable version; identical content returns the current one. */
export async function putPolicy({
  ctx,
  workspaceId,
  actor,
  name,
  document,
}: {
  ctx: Services;
  workspaceId: string;
  actor: Actor;
  name: string;
  document: unknown;
}): Promise<{ name: string; version: number; versionId: string; created: boolean }> {
  const result = validatePolicy(document, {
    minApprovalTimeoutSeconds: ctx.config.approvalTimeoutMinSeconds,
  });
  if (!result.ok)
    throw new GatewayError('VALIDATION_ERROR', 'The policy document is not valid.', result.issues);
  const at = ctx.clock();
  const id = newId('policyVersion');
  const stored = await ctx.store.putPolicyVersion(
    {
      id,
      workspaceId,
      name,
      document,
      contentHash: canonicalHash(document),
      createdBy: actor.id,
      createdAt: at,
    },
    auditEvent({ workspaceId, actor, action: 'policy.changed', target: name, at }),
  );
  return { name, ...stored };
}

export async function listPolicies({ ctx, workspaceId }: { ctx: Services; workspaceId: string }) {
  return (await ctx.store.listPolicies(workspaceId)).map(viewPointer);
}

export async function getPolicy({
  ctx,
  workspaceId,
  name,
}: {
  ctx: Services;
  workspaceId: string;
  name: string;
}) {
  const pointer = await ctx.store.getPolicyPointer(workspaceId, name);
  const version = pointer && (await ctx.store.getPolicyVersion(workspaceId, pointer.versionId));
  if (!version) throw new GatewayError('NOT_FOUND', `No policy named ${name}.`);
  return viewVersion(version);
}

export async function listPolicyVersions({
  ctx,
  workspaceId,
  name,
}: {
  ctx: Services;
  workspaceId: string;
  name: string;
}) {
  const versions = await ctx.store.listPolicyVersions(workspaceId, name);
  if (versions.length === 0) throw new GatewayError('NOT_FOUND', `No policy named ${name}.`);
  return versions.map(viewVersion);
}

/**
 * The compiled current version of a workspace's policy, or undefined when it has none.
 * The pointer is read on every call (a change takes effect at once); compiling happens once per
 * version (policy/ caches by version id).
 */
export async function loadPolicy(
  ctx: Services,
  workspaceId: string,
  name: string,
): Promise<CompiledPolicy | undefined> {
  const pointer = await ctx.store.getPolicyPointer(workspaceId, name);
  if (!pointer) return undefined;
  const cached = ctx.policies.get(pointer.versionId);
  if (cached) return cached;
  const version = await ctx.store.getPolicyVersion(workspaceId, pointer.versionId);
  if (!version) return undefined;
  // Stored versions were validated on the way in; parse again for defaults, never trust blindly.
  const parsed = validatePolicy(version.document, { minApprovalTimeoutSeconds: 1 });
  if (!parsed.ok) throw new Error(`Stored policy version ${version.id} no longer validates.`);
  const compiled = compilePolicy(parsed.policy, {
    name: version.name,
    version: version.version,
    versionId: version.id,
  });
  ctx.policies.set(version.id, compiled);
  return compiled;
}
