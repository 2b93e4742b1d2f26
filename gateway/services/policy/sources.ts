import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { GatewayError, type OutboxItem, type PolicySource } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { PermanentDeliveryError } from '../../notify/delivery.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { insertOutbox } from '../../repositories/outbox.ts';
import {
  getPolicySource,
  policySourceOf,
  recordPolicySync,
  removePolicySource,
  upsertPolicySource,
} from '../../repositories/policy-sources.ts';
import { newSigningSecret, safeEqual } from '../../secrets.ts';
import { type Deps, type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';
import { emit } from '../notifications/index.ts';
import { author, type Commit, commitStatus, fileAt, headCommit, ProviderError } from './git-providers.ts';
import { checkPolicyDocument, putPolicy } from './policies.ts';

/**
 * Issue 23, policy as code: a policy linked to a file in a GitHub or GitLab repository. A signed
 * push that touches the file queues a sync (the outbox: retried while the provider is down, never
 * in the way of anything else); the sync reads the file at the pushed commit, validates it, and
 * stores it as a new version carrying the commit id and author. A file that does not validate
 * changes nothing: it is recorded on the link, sent to webhooks as `policy.sync_failed`, and on
 * GitHub set as a failed commit status when the token allows.
 */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const viewPolicySource = (deps: Pick<Deps, 'config'>, s: PolicySource) => ({
  id: s.id,
  name: s.name,
  provider: s.provider,
  repository: s.repository,
  path: s.path,
  branch: s.branch,
  hasToken: s.token !== null,
  webhookUrl: `${deps.config.publicBaseUrl}/v1/git/push/${s.id}`,
  lastCommit: s.lastCommit,
  lastStatus: s.lastStatus,
  lastError: s.lastError,
  lastSyncedAt: iso(s.lastSyncedAt),
  createdAt: iso(s.createdAt) as string,
  updatedAt: iso(s.updatedAt) as string,
});

export interface LinkInput {
  name: string;
  provider: 'github' | 'gitlab';
  repository: string;
  path: string;
  branch: string;
  token?: string;
}

/**
 * PUT /v1/policies/:name/source (admins): links the policy to a file. The webhook secret is made
 * here and shown once (GitHub: the webhook's secret; GitLab: its secret token); it and the token
 * are sealed at rest. Linking again replaces the link and its secret.
 */
export async function linkPolicySource({ ctx, input }: { ctx: ServiceContext; input: LinkInput }) {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const at = deps.clock();
  const secret = newSigningSecret();
  return deps.db.transaction({ workspaceId }, async (tx) => {
    const existing = await policySourceOf(tx, workspaceId, input.name);
    const source: PolicySource = {
      id: existing?.id ?? newId('policySource'),
      workspaceId,
      name: input.name,
      provider: input.provider,
      repository: input.repository,
      path: input.path,
      branch: input.branch,
      token: input.token ? deps.sealer.seal(input.token) : null,
      webhookSecret: deps.sealer.seal(secret),
      lastCommit: existing?.lastCommit ?? null,
      lastStatus: existing?.lastStatus ?? null,
      lastError: existing?.lastError ?? null,
      lastSyncedAt: existing?.lastSyncedAt ?? null,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    await upsertPolicySource(tx, source);
    const { provider, repository, path, branch } = input;
    await appendAudit(
      tx,
      auditEvent(ctx, 'policy.source_linked', input.name, { provider, repository, path, branch }, at),
    );
    return { ...viewPolicySource(deps, source), webhookSecret: secret };
  });
}

export async function getPolicySourceView({ ctx, input }: { ctx: ServiceContext; input: { name: string } }) {
  const source = await policySourceOf(ctx.deps.db.reader, workspaceOf(ctx), input.name);
  if (!source) throw new GatewayError('NOT_FOUND', `Policy ${input.name} is not linked to a repository.`);
  return viewPolicySource(ctx.deps, source);
}

export async function unlinkPolicySource({ ctx, input }: { ctx: ServiceContext; input: { name: string } }) {
  const workspaceId = workspaceOf(ctx);
  const at = ctx.deps.clock();
  const removed = await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    if (!(await removePolicySource(tx, workspaceId, input.name))) return false;
    await appendAudit(tx, auditEvent(ctx, 'policy.source_unlinked', input.name, {}, at));
    return true;
  });
  if (!removed) throw new GatewayError('NOT_FOUND', `Policy ${input.name} is not linked to a repository.`);
}

// ── the push webhook ──────────────────────────────────────────────────────────────────────────────

const pushCommit = z.object({
  id: z.string(),
  author: z.object({ name: z.string().optional(), email: z.string().optional() }).partial().optional(),
  added: z.array(z.string()).optional(),
  modified: z.array(z.string()).optional(),
  removed: z.array(z.string()).optional(),
});
/** The fields of a push event both providers send (GitHub `push`, GitLab `Push Hook`). */
const pushEvent = z.object({
  ref: z.string(),
  after: z.string().optional(),
  checkout_sha: z.string().nullable().optional(),
  commits: z.array(pushCommit).default([]),
});

const notSigned = () => new GatewayError('UNAUTHORIZED', 'The push is not signed with this link’s secret.');

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` under the secret. */
function githubSigned(secret: string, rawBody: string, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * POST /v1/git/push/:sourceId: a provider's push webhook. Verified first (GitHub's
 * `X-Hub-Signature-256`, GitLab's `X-Gitlab-Token`, both compared in constant time); a push to the
 * linked branch whose commits add or modify the file queues a sync at the pushed commit.
 */
export async function receivePush({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { sourceId: string; rawBody: string; headers: Record<string, string | undefined> };
}): Promise<{ outcome: 'queued' | 'ignored'; commit?: string; reason?: string }> {
  const { deps } = ctx;
  const source = await getPolicySource(deps.db.reader, input.sourceId);
  if (!source) throw notSigned();
  const secret = deps.sealer.open(source.webhookSecret);
  const h = input.headers;
  const signed =
    source.provider === 'github'
      ? githubSigned(secret, input.rawBody, h['x-hub-signature-256'])
      : h['x-gitlab-token'] !== undefined && safeEqual(h['x-gitlab-token'], secret);
  if (!signed) {
    deps.logger.warn({ sourceId: source.id, provider: source.provider }, 'Git push refused: bad signature');
    throw notSigned();
  }
  const event = source.provider === 'github' ? h['x-github-event'] : h['x-gitlab-event'];
  if (event !== (source.provider === 'github' ? 'push' : 'Push Hook')) {
    return { outcome: 'ignored', reason: `event ${event ?? 'none'}` };
  }
  let body: z.infer<typeof pushEvent>;
  try {
    const parsed = pushEvent.safeParse(JSON.parse(input.rawBody));
    if (!parsed.success) throw new Error(parsed.error.message);
    body = parsed.data;
  } catch {
    throw new GatewayError('VALIDATION_ERROR', 'The push event is not one this endpoint understands.');
  }
  if (body.ref !== `refs/heads/${source.branch}`) return { outcome: 'ignored', reason: `ref ${body.ref}` };
  const touching = body.commits.filter((c) =>
    [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])].includes(source.path),
  );
  const last = touching[touching.length - 1];
  const commit = body.checkout_sha ?? body.after;
  if (!last || !commit) return { outcome: 'ignored', reason: `${source.path} not changed` };
  const at = deps.clock();
  await deps.db.transaction({ workspaceId: source.workspaceId }, (tx) =>
    insertOutbox(tx, {
      id: newId('outbox'),
      workspaceId: source.workspaceId,
      kind: 'policy_sync',
      targetId: source.id,
      payload: { sourceId: source.id, commit, author: author(last.author?.name, last.author?.email) },
      at,
    }),
  );
  return { outcome: 'queued', commit };
}

// ── the sync ──────────────────────────────────────────────────────────────────────────────────────

export type SyncResult =
  | { status: 'synced'; commit: string; version: number; versionId: string; created: boolean }
  | { status: 'invalid'; commit: string; error: string; issues: { path: string; message: string }[] };

/** The context a sync acts in: the system, as the provider, in the link's workspace. */
const gitContext = (deps: Deps, source: PolicySource, requestId?: string): ServiceContext => ({
  deps,
  workspaceId: source.workspaceId,
  actor: { type: 'system', id: `git:${source.provider}` },
  requestId: requestId ?? newId('request'),
});

/**
 * Reads the file at `commit`, validates it and stores it (or reports why not). Throws
 * ProviderError when the provider fails: the caller retries (outbox) or answers 502 (manual sync).
 */
async function syncAt(ctx: ServiceContext, source: PolicySource, commit: Commit): Promise<SyncResult> {
  const { deps } = ctx;
  const access = {
    config: deps.config,
    source,
    token: source.token ? deps.sealer.open(source.token) : null,
  };
  const file = await fileAt(access, commit.id);
  let document: unknown;
  let issues: { path: string; message: string }[] = [];
  let problem: string | null = null;
  if (!file.found) problem = `${source.path} is not in ${source.repository} at ${commit.id}.`;
  else if (file.text === '') problem = `${source.path} is empty or larger than 1 MiB.`;
  else {
    try {
      document = JSON.parse(file.text);
    } catch (error) {
      problem = `${source.path} is not JSON: ${(error as Error).message}`;
    }
  }
  if (problem === null) {
    const check = checkPolicyDocument({ ctx, input: { document } });
    if (!check.valid) {
      issues = check.issues;
      problem = `${source.path} is not a valid policy: ${issues
        .slice(0, 3)
        .map((i) => `${i.path || '(document)'}: ${i.message}`)
        .join('; ')}`;
    }
  }
  const at = deps.clock();
  if (problem !== null) {
    const reported = `Commit ${commit.id.slice(0, 12)}: ${problem}`;
    await deps.db.transaction({ workspaceId: source.workspaceId }, async (tx) => {
      await recordPolicySync(tx, source.id, { commit: null, status: 'invalid', error: reported, at });
      await appendAudit(
        tx,
        auditEvent(ctx, 'policy.sync_failed', source.name, { commit: commit.id, error: reported }, at),
      );
      await emit(tx, ctx, {
        workspaceId: source.workspaceId,
        type: 'policy.sync_failed',
        data: {
          policy: source.name,
          repository: source.repository,
          path: source.path,
          commit: commit.id,
          error: reported,
          issues,
        },
        at,
      });
    });
    await reportStatus(ctx, access, commit.id, { state: 'failure', description: reported });
    return { status: 'invalid', commit: commit.id, error: reported, issues };
  }
  const stored = await putPolicy({ ctx, input: { name: source.name, document, commit } });
  await deps.db.transaction({ workspaceId: source.workspaceId }, (tx) =>
    recordPolicySync(tx, source.id, { commit: commit.id, status: 'synced', error: null, at }),
  );
  await reportStatus(ctx, access, commit.id, {
    state: 'success',
    description: `Warden stored policy ${source.name} version ${stored.version}.`,
  });
  return { status: 'synced', commit: commit.id, ...stored };
}

/** The commit status is a courtesy: its failure is logged, never a reason to sync again. */
async function reportStatus(
  ctx: ServiceContext,
  access: Parameters<typeof commitStatus>[0],
  sha: string,
  status: Parameters<typeof commitStatus>[2],
): Promise<void> {
  try {
    await commitStatus(access, sha, {
      ...status,
      targetUrl: `${ctx.deps.config.publicBaseUrl}/console/policy`,
    });
  } catch (error) {
    ctx.deps.logger.warn({ err: error, sha }, 'the GitHub commit status could not be set');
  }
}

const syncPayload = z.object({ sourceId: z.string(), commit: z.string(), author: z.string().nullable() });

/** Delivers `policy_sync` outbox items: a provider failure throws, and the outbox retries it. */
export function policySyncSender({ deps }: { deps: Deps }) {
  return async function deliverPolicySync(item: OutboxItem): Promise<void> {
    const parsed = syncPayload.safeParse(item.payload);
    if (!parsed.success) throw new PermanentDeliveryError('The sync names no policy link.');
    const source = await getPolicySource(deps.db.reader, parsed.data.sourceId);
    if (!source) throw new PermanentDeliveryError('The policy is no longer linked to a repository.');
    const result = await syncAt(gitContext(deps, source), source, {
      id: parsed.data.commit,
      author: parsed.data.author,
    }).catch(async (error: unknown) => {
      if (error instanceof ProviderError) {
        const at = deps.clock();
        await deps.db.transaction({ workspaceId: source.workspaceId }, (tx) =>
          recordPolicySync(tx, source.id, { commit: null, status: 'error', error: error.message, at }),
        );
      }
      throw error;
    });
    deps.logger.info(
      { sourceId: source.id, status: result.status, commit: result.commit },
      'policy synced from Git',
    );
  };
}

/**
 * POST /v1/policies/:name/sync and `warden policy sync` (admins): reads the file at the head of the
 * linked branch now, as a push would. A provider failure is answered 502 PROVIDER_ERROR and changes
 * nothing.
 */
export async function syncPolicySource({ ctx, input }: { ctx: ServiceContext; input: { name: string } }) {
  const { deps } = ctx;
  const source = await policySourceOf(deps.db.reader, workspaceOf(ctx), input.name);
  if (!source) throw new GatewayError('NOT_FOUND', `Policy ${input.name} is not linked to a repository.`);
  try {
    const access = {
      config: deps.config,
      source,
      token: source.token ? deps.sealer.open(source.token) : null,
    };
    const head = await headCommit(access, source.branch);
    if (!head) throw new GatewayError('NOT_FOUND', `No branch ${source.branch} in ${source.repository}.`);
    // As the member who asked: the new version and its audit event name them.
    return await syncAt(ctx, source, head);
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const at = deps.clock();
    await deps.db.transaction({ workspaceId: source.workspaceId }, (tx) =>
      recordPolicySync(tx, source.id, { commit: null, status: 'error', error: error.message, at }),
    );
    throw new GatewayError('PROVIDER_ERROR', `${source.provider} failed: ${error.message}`);
  }
}
