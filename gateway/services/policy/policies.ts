import { canonicalHash } from '../../../policy/canonical.ts';
import {
  type CompiledPolicy,
  compilePolicy,
  type PolicyIssue,
  validatePolicy,
} from '../../../policy/index.ts';
import { GatewayError, type PolicyPointer, type PolicyVersion } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  currentVersion,
  getPointer,
  getVersion,
  insertVersion,
  listPointers,
  listVersions,
} from '../../repositories/policies.ts';
import { type Deps, type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

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
  commit: v.commit,
  document: v.document,
});

/**
 * What PUT would say about a document, without storing anything: every issue at its dotted path
 * (`POST /v1/policies/validate`, the console's editor as you type).
 */
export function checkPolicyDocument({ ctx, input }: { ctx: ServiceContext; input: { document: unknown } }): {
  valid: boolean;
  issues: PolicyIssue[];
} {
  const { document } = input;
  const result = validatePolicy(document, {
    minApprovalTimeoutSeconds: ctx.deps.config.approvalTimeoutMinSeconds,
  });
  return result.ok ? { valid: true, issues: [] } : { valid: false, issues: result.issues };
}

/** Validates and stores a new immutable version; identical content returns the current one. */
export async function putPolicy({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: {
    name: string;
    document: unknown;
    /** Issue 23: the Git commit the document was read at, when it came from a linked repository. */
    commit?: { id: string; author: string | null };
  };
}): Promise<{ name: string; version: number; versionId: string; created: boolean }> {
  const { name, document } = input;
  const workspaceId = workspaceOf(ctx);
  const result = checkPolicyDocument({ ctx, input: { document } });
  if (!result.valid)
    throw new GatewayError('VALIDATION_ERROR', 'The policy document is not valid.', result.issues);
  const at = ctx.deps.clock();
  const id = newId('policyVersion');
  const contentHash = canonicalHash(document);
  // Under the workspace scope: the current-version read and the insert cannot interleave with another put.
  return ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    const current = await currentVersion(tx, workspaceId, name);
    if (current && current.hash === contentHash) {
      return { name, versionId: current.id, version: current.version, created: false };
    }
    const version = (current?.version ?? 0) + 1;
    await insertVersion(tx, {
      id,
      workspaceId,
      name,
      version,
      document,
      contentHash,
      createdBy: ctx.actor.id,
      createdAt: at,
      commit: input.commit ?? null,
    });
    const from = input.commit ? { commit: input.commit.id } : {};
    await appendAudit(tx, auditEvent(ctx, 'policy.changed', name, { version, versionId: id, ...from }, at));
    return { name, versionId: id, version, created: true };
  });
}

export async function listPolicies({ ctx }: { ctx: ServiceContext }) {
  return (await listPointers(ctx.deps.db.reader, workspaceOf(ctx))).map(viewPointer);
}

export async function getPolicy({ ctx, input }: { ctx: ServiceContext; input: { name: string } }) {
  const { name } = input;
  const workspaceId = workspaceOf(ctx);
  const pointer = await getPointer(ctx.deps.db.reader, workspaceId, name);
  const version = pointer && (await getVersion(ctx.deps.db.reader, workspaceId, pointer.versionId));
  if (!version) throw new GatewayError('NOT_FOUND', `No policy named ${name}.`);
  return viewVersion(version);
}

export async function listPolicyVersions({ ctx, input }: { ctx: ServiceContext; input: { name: string } }) {
  const { name } = input;
  const versions = await listVersions(ctx.deps.db.reader, workspaceOf(ctx), name);
  if (versions.length === 0) throw new GatewayError('NOT_FOUND', `No policy named ${name}.`);
  return versions.map(viewVersion);
}

/**
 * The compiled current version of a workspace's policy, or undefined when it has none. The pointer
 * is read on every call (a change takes effect at once); compiling happens once per version.
 */
export async function loadPolicy(
  deps: Deps,
  workspaceId: string,
  name: string,
): Promise<CompiledPolicy | undefined> {
  const pointer = await getPointer(deps.db.reader, workspaceId, name);
  return pointer ? compiledVersion(deps, workspaceId, pointer.versionId) : undefined;
}

/** A policy version compiled into closures, once per version id (versions never change). */
export async function compiledVersion(
  deps: Deps,
  workspaceId: string,
  versionId: string,
): Promise<CompiledPolicy | undefined> {
  const cached = deps.policies.get(versionId);
  if (cached) return cached;
  const version = await getVersion(deps.db.reader, workspaceId, versionId);
  if (!version) return undefined;
  // Stored versions were validated on the way in; parse again for defaults, never trust blindly.
  const parsed = validatePolicy(version.document, { minApprovalTimeoutSeconds: 1 });
  if (!parsed.ok) throw new Error(`Stored policy version ${version.id} no longer validates.`);
  const compiled = compilePolicy(parsed.policy, {
    name: version.name,
    version: version.version,
    versionId: version.id,
  });
  deps.policies.set(version.id, compiled);
  return compiled;
}
