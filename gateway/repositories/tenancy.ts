import { columns, onlyNumber } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { AgentKey, Business, BusinessFilter, Member, Role, Scope, Workspace } from '../domain/index.ts';
import { bumpConfigVersion } from './config.ts';

/** Workspaces, their members and agent keys, and the businesses (DESIGN §3, §5). */

// ── workspaces ────────────────────────────────────────────────────────────────────────────────────

const INSERT_WORKSPACE = sql('INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)');
const COUNT_WORKSPACES = sql('SELECT count(*) FROM workspaces', onlyNumber);

export async function insertWorkspace(tx: Conn, w: Workspace): Promise<void> {
  await tx.run(INSERT_WORKSPACE, [w.id, w.name, w.createdAt]);
}

export async function countWorkspaces(conn: Conn): Promise<number> {
  return (await conn.get(COUNT_WORKSPACES)) ?? 0;
}

const CALLBACK_SECRET = columns('workspaces', ['id', 'callback_secret']);
const CALLBACK_SECRETS = sql(
  `SELECT ${CALLBACK_SECRET.list} FROM workspaces WHERE callback_secret IS NOT NULL ORDER BY id`,
  CALLBACK_SECRET.map((r) => ({ workspaceId: r.id, callbackSecret: r.callback_secret as string })),
);
const RESEAL_CALLBACK_SECRET = sql(
  'UPDATE workspaces SET callback_secret = ? WHERE id = ? AND callback_secret = ?',
);

/** Every workspace's evaluation callback secret as stored (`warden secrets reseal`). */
export function listCallbackSecrets(conn: Conn): Promise<{ workspaceId: string; callbackSecret: string }[]> {
  return conn.all(CALLBACK_SECRETS);
}

/** Replaces a stored callback secret with the same one sealed anew, only if it is still `from`. */
export async function resealCallbackSecret(
  tx: Conn,
  workspaceId: string,
  from: string,
  to: string,
): Promise<boolean> {
  return (await tx.run(RESEAL_CALLBACK_SECRET, [to, workspaceId, from])) > 0;
}

// ── members ───────────────────────────────────────────────────────────────────────────────────────

const M = columns('members', ['id', 'workspace_id', 'email', 'role', 'token_hash', 'created_at']);
const toMember = (raw: unknown[]): Member => {
  const {
    id,
    workspace_id: workspaceId,
    email,
    role,
    token_hash: tokenHash,
    created_at: createdAt,
  } = M.row(raw);
  return { id, workspaceId, email, role, tokenHash, createdAt };
};
const INSERT_MEMBER = sql(
  `INSERT INTO members (${M.list}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
);
const MEMBER_BY_HASH = sql(`SELECT ${M.list} FROM members WHERE token_hash = ?`, toMember);
const MEMBER = sql(`SELECT ${M.list} FROM members WHERE id = ? AND workspace_id = ?`, toMember);
const MEMBERS_WITH_ROLE = sql(`SELECT ${M.list} FROM members WHERE workspace_id = ? AND role = ?`, toMember);

/** False when the email is already a member of the workspace. */
export async function insertMember(tx: Conn, m: Member): Promise<boolean> {
  const rows = await tx.all(
    INSERT_MEMBER,
    M.values({
      id: m.id,
      workspace_id: m.workspaceId,
      email: m.email,
      role: m.role,
      token_hash: m.tokenHash,
      created_at: m.createdAt,
    }),
  );
  return rows.length > 0;
}

export function findMemberByTokenHash(conn: Conn, tokenHash: string): Promise<Member | undefined> {
  return conn.get(MEMBER_BY_HASH, [tokenHash]);
}

export function getMember(conn: Conn, workspaceId: string, id: string): Promise<Member | undefined> {
  return conn.get(MEMBER, [id, workspaceId]);
}

export function membersWithRole(conn: Conn, workspaceId: string, role: Role): Promise<Member[]> {
  return conn.all(MEMBERS_WITH_ROLE, [workspaceId, role]);
}

// ── agent keys ────────────────────────────────────────────────────────────────────────────────────

const K = columns('agent_keys', [
  'id',
  'workspace_id',
  'agent_id',
  'key_hash',
  'key_prefix',
  'scopes',
  'policy_name',
  'created_by',
  'created_at',
  'revoked_at',
]);
const toAgentKey = (raw: unknown[]): AgentKey => {
  const {
    id,
    workspace_id: workspaceId,
    agent_id: agentId,
    key_hash: keyHash,
    key_prefix: keyPrefix,
    scopes,
    policy_name: policyName,
    created_by: createdBy,
    created_at: createdAt,
    revoked_at: revokedAt,
  } = K.row(raw);
  return {
    id,
    workspaceId,
    agentId,
    keyHash,
    keyPrefix,
    scopes: scopes.split(' ').filter(Boolean) as Scope[],
    policyName,
    createdBy,
    createdAt,
    revokedAt,
  };
};
const INSERT_KEY = sql(`INSERT INTO agent_keys (${K.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
const KEY_BY_HASH = sql(`SELECT ${K.list} FROM agent_keys WHERE key_hash = ?`, toAgentKey);
const KEYS = sql(
  `SELECT ${K.list} FROM agent_keys WHERE workspace_id = ? ORDER BY created_at, id`,
  toAgentKey,
);
const REVOKE_KEY = sql(
  'UPDATE agent_keys SET revoked_at = ? WHERE id = ? AND workspace_id = ? AND revoked_at IS NULL',
);

export async function insertAgentKey(tx: Conn, k: AgentKey): Promise<void> {
  await tx.run(
    INSERT_KEY,
    K.values({
      id: k.id,
      workspace_id: k.workspaceId,
      agent_id: k.agentId,
      key_hash: k.keyHash,
      key_prefix: k.keyPrefix,
      scopes: k.scopes.join(' '),
      policy_name: k.policyName,
      created_by: k.createdBy,
      created_at: k.createdAt,
      revoked_at: k.revokedAt,
    }),
  );
  await bumpConfigVersion(tx);
}

export function findAgentKeyByHash(conn: Conn, keyHash: string): Promise<AgentKey | undefined> {
  return conn.get(KEY_BY_HASH, [keyHash]);
}

export function listAgentKeys(conn: Conn, workspaceId: string): Promise<AgentKey[]> {
  return conn.all(KEYS, [workspaceId]);
}

/** True when this call revoked it (a second revoke, or another workspace's id, is false). */
export async function revokeAgentKey(
  tx: Conn,
  workspaceId: string,
  id: string,
  at: number,
): Promise<boolean> {
  if ((await tx.run(REVOKE_KEY, [at, id, workspaceId])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}

// ── businesses ────────────────────────────────────────────────────────────────────────────────────

const B = columns('businesses', [
  'id',
  'name',
  'category',
  'description',
  'adapter',
  'signing_secret',
  'created_at',
  'status',
  'sandbox_workspaces',
  'previous_signing_secret',
  'previous_secret_until',
]);
const toBusiness = (raw: unknown[]): Business => {
  const {
    id,
    name,
    category,
    description,
    adapter,
    signing_secret: signingSecret,
    created_at: createdAt,
    status,
    sandbox_workspaces: sandboxWorkspaces,
    previous_signing_secret: previousSigningSecret,
    previous_secret_until: previousSecretUntil,
  } = B.row(raw);
  return {
    id,
    name,
    category,
    description,
    adapter: JSON.parse(adapter),
    signingSecret,
    createdAt,
    status: status as Business['status'],
    sandboxWorkspaces: JSON.parse(sandboxWorkspaces),
    previousSigningSecret,
    previousSecretUntil: previousSecretUntil === null ? null : Number(previousSecretUntil),
  };
};
const INSERT_BUSINESS = sql(
  `INSERT INTO businesses (${B.list}, key_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
);
const BUSINESS = sql(`SELECT ${B.list} FROM businesses WHERE id = ?`, toBusiness);

/** False when the id is taken. `keyHash`: the business key's SHA-256 (issue 12), null for none. */
export async function insertBusiness(tx: Conn, b: Business, keyHash: string | null = null): Promise<boolean> {
  const rows = await tx.all(INSERT_BUSINESS, [
    b.id,
    b.name,
    b.category,
    b.description,
    JSON.stringify(b.adapter),
    b.signingSecret,
    b.createdAt,
    b.status,
    JSON.stringify(b.sandboxWorkspaces),
    b.previousSigningSecret,
    b.previousSecretUntil,
    keyHash,
  ]);
  if (rows.length === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}

export function getBusiness(conn: Conn, id: string): Promise<Business | undefined> {
  return conn.get(BUSINESS, [id]);
}

const SIGNING_SECRET = columns('businesses', ['id', 'signing_secret']);
const BUSINESS_SECRETS = sql(
  `SELECT ${SIGNING_SECRET.list} FROM businesses ORDER BY id`,
  SIGNING_SECRET.map((r) => ({ id: r.id, signingSecret: r.signing_secret })),
);
const RESEAL_BUSINESS = sql('UPDATE businesses SET signing_secret = ? WHERE id = ? AND signing_secret = ?');

/** Every business's signing secret as stored (`warden secrets reseal`). */
export function listBusinessSecrets(conn: Conn): Promise<{ id: string; signingSecret: string }[]> {
  return conn.all(BUSINESS_SECRETS);
}

/**
 * Replaces a stored signing secret with the same secret sealed anew, only if it is still `from`:
 * a secret changed meanwhile is left alone. Answers whether it was replaced.
 */
export async function resealBusinessSecret(tx: Conn, id: string, from: string, to: string): Promise<boolean> {
  if ((await tx.run(RESEAL_BUSINESS, [to, id, from])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}

/** The directory: by category, and a case-insensitive search in name, description and id. */
export function listBusinesses(conn: Conn, filter: BusinessFilter = {}): Promise<Business[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.category) {
    where.push('category = ?');
    params.push(filter.category);
  }
  if (filter.q) {
    // SQLite's LIKE ignores ASCII case; PostgreSQL's needs ILIKE. Backslash escapes on both.
    const like = conn.dialect === 'postgres' ? 'ILIKE' : 'LIKE';
    const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      `(name ${like} ? ESCAPE '\\' OR description ${like} ? ESCAPE '\\' OR id ${like} ? ESCAPE '\\')`,
    );
    params.push(pattern, pattern, pattern);
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  return conn.all(sql(`SELECT ${B.list} FROM businesses ${clause} ORDER BY name, id`, toBusiness), params);
}

/**
 * The execute path's two lookups in one statement: the business, and the version id of the
 * workspace's policy of this name (null when it has none). Both are read on every execute, so a
 * change to either takes effect at once (DESIGN §8); one statement instead of two is a measured
 * saving on the hot path.
 */
const BUSINESS_AND_POLICY = sql(
  `SELECT ${B.list},
     (SELECT current_version_id FROM policies WHERE workspace_id = ? AND name = ?)
   FROM businesses WHERE id = ?`,
  (raw) => ({ business: toBusiness(raw), policyVersionId: raw[B.names.length] as string | null }),
);

export function getBusinessAndPolicy(
  conn: Conn,
  businessId: string,
  workspaceId: string,
  policyName: string,
) {
  return conn.get(BUSINESS_AND_POLICY, [workspaceId, policyName, businessId]);
}
