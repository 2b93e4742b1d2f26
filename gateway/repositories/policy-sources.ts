import { columns } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { PolicySource } from '../domain/index.ts';
import { storableText } from '../domain/text.ts';

/** Issue 23, policy as code: the Git file each linked policy follows, and its newest sync. */

const S = columns('policy_sources', [
  'id',
  'workspace_id',
  'name',
  'provider',
  'repository',
  'path',
  'branch',
  'token',
  'webhook_secret',
  'last_commit',
  'last_status',
  'last_error',
  'last_synced_at',
  'created_at',
  'updated_at',
]);
const toSource = (raw: unknown[]): PolicySource => {
  const r = S.row(raw);
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    provider: r.provider as PolicySource['provider'],
    repository: r.repository,
    path: r.path,
    branch: r.branch,
    token: r.token,
    webhookSecret: r.webhook_secret,
    lastCommit: r.last_commit,
    lastStatus: r.last_status as PolicySource['lastStatus'],
    lastError: r.last_error,
    lastSyncedAt: r.last_synced_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};
const BY_ID = sql(`SELECT ${S.list} FROM policy_sources WHERE id = ?`, toSource);
const BY_NAME = sql(`SELECT ${S.list} FROM policy_sources WHERE workspace_id = ? AND name = ?`, toSource);
const ALL = sql(`SELECT ${S.list} FROM policy_sources WHERE workspace_id = ? ORDER BY name`, toSource);
const UPSERT = sql(
  `INSERT INTO policy_sources (${S.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (workspace_id, name) DO UPDATE SET
     provider = excluded.provider, repository = excluded.repository, path = excluded.path,
     branch = excluded.branch, token = excluded.token, webhook_secret = excluded.webhook_secret,
     updated_at = excluded.updated_at`,
);
const REMOVE = sql('DELETE FROM policy_sources WHERE workspace_id = ? AND name = ?');
const RECORD = sql(
  `UPDATE policy_sources SET last_commit = COALESCE(?, last_commit), last_status = ?, last_error = ?,
     last_synced_at = ?, updated_at = ? WHERE id = ?`,
);

export function getPolicySource(conn: Conn, id: string): Promise<PolicySource | undefined> {
  return conn.get(BY_ID, [id]);
}

export function policySourceOf(
  conn: Conn,
  workspaceId: string,
  name: string,
): Promise<PolicySource | undefined> {
  return conn.get(BY_NAME, [workspaceId, name]);
}

export function listPolicySources(conn: Conn, workspaceId: string): Promise<PolicySource[]> {
  return conn.all(ALL, [workspaceId]);
}

/** Links a policy to a file, or changes its link (the id, and with it the webhook URL, stays). */
export async function upsertPolicySource(tx: Conn, s: PolicySource): Promise<void> {
  await tx.run(
    UPSERT,
    S.values({
      id: s.id,
      workspace_id: s.workspaceId,
      name: s.name,
      provider: s.provider,
      repository: s.repository,
      path: s.path,
      branch: s.branch,
      token: s.token,
      webhook_secret: s.webhookSecret,
      last_commit: s.lastCommit,
      last_status: s.lastStatus,
      last_error: s.lastError,
      last_synced_at: s.lastSyncedAt,
      created_at: s.createdAt,
      updated_at: s.updatedAt,
    }),
  );
}

export async function removePolicySource(tx: Conn, workspaceId: string, name: string): Promise<boolean> {
  return (await tx.run(REMOVE, [workspaceId, name])) > 0;
}

/** The outcome of a sync: the commit read (kept when null), and whether it was stored. */
export async function recordPolicySync(
  tx: Conn,
  id: string,
  r: { commit: string | null; status: 'synced' | 'invalid' | 'error'; error: string | null; at: number },
): Promise<void> {
  const error = r.error === null ? null : storableText(r.error.slice(0, 2000));
  await tx.run(RECORD, [r.commit, r.status, error, r.at, r.at, id]);
}

// ── resealing (`warden secrets reseal`) ─────────────────────────────────────────────────────────

const SOURCE_SECRETS = sql(
  'SELECT id, token, webhook_secret FROM policy_sources ORDER BY id',
  (raw: unknown[]) => ({
    id: raw[0] as string,
    token: raw[1] as string | null,
    webhookSecret: raw[2] as string,
  }),
);
const RESEAL_TOKEN = sql('UPDATE policy_sources SET token = ? WHERE id = ? AND token = ?');
const RESEAL_WEBHOOK_SECRET = sql(
  'UPDATE policy_sources SET webhook_secret = ? WHERE id = ? AND webhook_secret = ?',
);

/** Every link's sealed token (null without one) and push webhook secret, as stored. */
export function listPolicySourceSecrets(
  conn: Conn,
): Promise<{ id: string; token: string | null; webhookSecret: string }[]> {
  return conn.all(SOURCE_SECRETS);
}

export async function resealPolicySourceToken(
  tx: Conn,
  id: string,
  from: string,
  to: string,
): Promise<boolean> {
  return (await tx.run(RESEAL_TOKEN, [to, id, from])) > 0;
}

export async function resealPolicySourceWebhookSecret(
  tx: Conn,
  id: string,
  from: string,
  to: string,
): Promise<boolean> {
  return (await tx.run(RESEAL_WEBHOOK_SECRET, [to, id, from])) > 0;
}
