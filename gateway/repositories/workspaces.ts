import { columns, only } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { Workspace } from '../domain/index.ts';
import { bumpConfigVersion } from './config.ts';

/**
 * A workspace's lifecycle (issue 11): listing, archiving, restoring, deleting. Archiving and
 * restoring bump the config version in their transaction, so every replica's cached keys are
 * dropped and the next request on any of them sees the change (services/platform/config-cache.ts).
 */

const W = columns('workspaces', ['id', 'name', 'created_at', 'archived_at']);
const toWorkspace = (raw: unknown[]): Workspace => {
  const { id, name, created_at: createdAt, archived_at: archivedAt } = W.row(raw);
  return { id, name, createdAt, archivedAt };
};

const WORKSPACE = sql(`SELECT ${W.list} FROM workspaces WHERE id = ?`, toWorkspace);
const WORKSPACES = sql(`SELECT ${W.list} FROM workspaces ORDER BY created_at, id`, toWorkspace);
const ARCHIVED = sql('SELECT archived_at FROM workspaces WHERE id = ?', (raw) => only(raw) !== null);
const ARCHIVE = sql('UPDATE workspaces SET archived_at = ? WHERE id = ? AND archived_at IS NULL');
const RESTORE = sql('UPDATE workspaces SET archived_at = NULL WHERE id = ? AND archived_at IS NOT NULL');

export function getWorkspace(conn: Conn, id: string): Promise<Workspace | undefined> {
  return conn.get(WORKSPACE, [id]);
}

export function listWorkspaces(conn: Conn): Promise<Workspace[]> {
  return conn.all(WORKSPACES);
}

/** True when the workspace exists and is archived. */
export async function isWorkspaceArchived(conn: Conn, id: string): Promise<boolean> {
  return (await conn.get(ARCHIVED, [id])) ?? false;
}

/** True when this call archived it (false: unknown, or archived already). */
export async function archiveWorkspace(tx: Conn, id: string, at: number): Promise<boolean> {
  if ((await tx.run(ARCHIVE, [at, id])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}

/** True when this call restored it (false: unknown, or not archived). */
export async function restoreWorkspace(tx: Conn, id: string): Promise<boolean> {
  if ((await tx.run(RESTORE, [id])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}

/**
 * Every row a workspace owns, children before parents (foreign keys hold on both dialects): each
 * table with a `workspace_id`, and the rows keyed by something the workspace owns (idempotency keys
 * and rate counters by agent key, stages and votes by approval, code-request counters by code).
 * Businesses and signing keys belong to the operator and stay. The test in
 * test/api/workspace-lifecycle.test.ts checks every table with a `workspace_id` column is empty after.
 */
const DELETES: readonly [table: string, text: string][] = [
  [
    'idempotency_keys',
    'DELETE FROM idempotency_keys WHERE agent_key_id IN (SELECT id FROM agent_keys WHERE workspace_id = ?)',
  ],
  [
    'rate_counters',
    'DELETE FROM rate_counters WHERE key IN (SELECT id FROM agent_keys WHERE workspace_id = ?)',
  ],
  [
    'rate_counters',
    `DELETE FROM rate_counters WHERE key IN
       (SELECT 'otp:' || approval_id || ':' || member_id FROM approval_otps WHERE workspace_id = ?)`,
  ],
  [
    'approval_votes',
    'DELETE FROM approval_votes WHERE approval_id IN (SELECT id FROM approvals WHERE workspace_id = ?)',
  ],
  [
    'approval_stages',
    'DELETE FROM approval_stages WHERE approval_id IN (SELECT id FROM approvals WHERE workspace_id = ?)',
  ],
  ['approval_links', 'DELETE FROM approval_links WHERE workspace_id = ?'],
  ['approval_otps', 'DELETE FROM approval_otps WHERE workspace_id = ?'],
  ['approvals', 'DELETE FROM approvals WHERE workspace_id = ?'],
  ['receipts', 'DELETE FROM receipts WHERE workspace_id = ?'],
  ['ledger_queue', 'DELETE FROM ledger_queue WHERE workspace_id = ?'],
  ['ledger_entries', 'DELETE FROM ledger_entries WHERE workspace_id = ?'],
  ['ledger_nodes', 'DELETE FROM ledger_nodes WHERE workspace_id = ?'],
  ['ledger_checkpoints', 'DELETE FROM ledger_checkpoints WHERE workspace_id = ?'],
  ['confirmation_tokens', 'DELETE FROM confirmation_tokens WHERE workspace_id = ?'],
  ['transactions', 'DELETE FROM transactions WHERE workspace_id = ?'],
  ['spend_buckets', 'DELETE FROM spend_buckets WHERE workspace_id = ?'],
  ['transaction_rollups', 'DELETE FROM transaction_rollups WHERE workspace_id = ?'],
  ['policy_versions', 'DELETE FROM policy_versions WHERE workspace_id = ?'],
  ['policies', 'DELETE FROM policies WHERE workspace_id = ?'],
  ['outbox', 'DELETE FROM outbox WHERE workspace_id = ?'],
  ['webhooks', 'DELETE FROM webhooks WHERE workspace_id = ?'],
  ['audit_events', 'DELETE FROM audit_events WHERE workspace_id = ?'],
  ['invites', 'DELETE FROM invites WHERE workspace_id = ?'],
  // Console single sign-on (issue 22): the provider, its domains (free again), sign-ins under way.
  ['sso_sign_ins', 'DELETE FROM sso_sign_ins WHERE workspace_id = ?'],
  ['sso_domains', 'DELETE FROM sso_domains WHERE workspace_id = ?'],
  ['sso_configs', 'DELETE FROM sso_configs WHERE workspace_id = ?'],
  ['oauth_tokens', 'DELETE FROM oauth_tokens WHERE workspace_id = ?'],
  ['oauth_grants', 'DELETE FROM oauth_grants WHERE workspace_id = ?'],
  ['members', 'DELETE FROM members WHERE workspace_id = ?'],
  ['agent_prices', 'DELETE FROM agent_prices WHERE workspace_id = ?'],
  ['agent_keys', 'DELETE FROM agent_keys WHERE workspace_id = ?'],
  ['workspaces', 'DELETE FROM workspaces WHERE id = ?'],
];
const DELETE_STATEMENTS = DELETES.map(([table, text]) => [table, sql(text)] as const);

/** Deletes the workspace and every row it owns; answers how many rows went, by table. */
export async function deleteWorkspaceRows(tx: Conn, id: string): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  for (const [table, statement] of DELETE_STATEMENTS) {
    removed[table] = (removed[table] ?? 0) + (await tx.run(statement, [id]));
  }
  await bumpConfigVersion(tx);
  return removed;
}
