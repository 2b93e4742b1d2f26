import { columns, select } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';

/**
 * Warden as an OAuth authorization server (issue 22): registered clients, grants (one member's
 * authorisation of one client to act as one agent key) and the codes and tokens issued under
 * them, only their SHA-256 hashes kept. The rules are in services/oauth/.
 */

export interface OAuthClientRow {
  id: string;
  clientName: string | null;
  redirectUris: string[];
  createdAt: number;
}

const C = columns('oauth_clients', ['id', 'client_name', 'redirect_uris', 'created_at']);
const toClient = (raw: unknown[]): OAuthClientRow => {
  const r = C.row(raw);
  return {
    id: r.id,
    clientName: r.client_name,
    redirectUris: JSON.parse(r.redirect_uris) as string[],
    createdAt: r.created_at,
  };
};
const INSERT_CLIENT = sql(`INSERT INTO oauth_clients (${C.list}) VALUES (?, ?, ?, ?)`);
const CLIENT = sql(`SELECT ${C.list} FROM oauth_clients WHERE id = ?`, toClient);

export async function insertClient(tx: Conn, c: OAuthClientRow): Promise<void> {
  await tx.run(
    INSERT_CLIENT,
    C.values({
      id: c.id,
      client_name: c.clientName,
      redirect_uris: JSON.stringify(c.redirectUris),
      created_at: c.createdAt,
    }),
  );
}

export function findClient(conn: Conn, id: string): Promise<OAuthClientRow | undefined> {
  return conn.get(CLIENT, [id]);
}

// ── grants ───────────────────────────────────────────────────────────────────────────────────────

export interface OAuthGrantRow {
  id: string;
  workspaceId: string;
  memberId: string;
  agentKeyId: string;
  clientId: string;
  clientName: string | null;
  redirectUri: string;
  scopes: string[];
  resource: string;
  codeChallenge: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const G = columns('oauth_grants', [
  'id',
  'workspace_id',
  'member_id',
  'agent_key_id',
  'client_id',
  'client_name',
  'redirect_uri',
  'scopes',
  'resource',
  'code_challenge',
  'created_at',
  'last_used_at',
  'revoked_at',
]);
const toGrant = (raw: unknown[]): OAuthGrantRow => {
  const r = G.row(raw);
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    memberId: r.member_id,
    agentKeyId: r.agent_key_id,
    clientId: r.client_id,
    clientName: r.client_name,
    redirectUri: r.redirect_uri,
    scopes: r.scopes.split(' ').filter(Boolean),
    resource: r.resource,
    codeChallenge: r.code_challenge,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
};
const INSERT_GRANT = sql(
  `INSERT INTO oauth_grants (${G.list}) VALUES (${G.names.map(() => '?').join(', ')})`,
);
const GRANT = sql(`SELECT ${G.list} FROM oauth_grants WHERE id = ?`, toGrant);
const MEMBER_GRANTS = sql(
  `SELECT ${G.list} FROM oauth_grants
   WHERE workspace_id = ? AND member_id = ? AND revoked_at IS NULL AND last_used_at IS NOT NULL
   ORDER BY created_at DESC, id DESC`,
  toGrant,
);
const REVOKE_GRANT = sql('UPDATE oauth_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
const REVOKE_MEMBER_GRANT = sql(
  'UPDATE oauth_grants SET revoked_at = ? WHERE id = ? AND workspace_id = ? AND member_id = ? AND revoked_at IS NULL',
);
const TOUCH_GRANT = sql('UPDATE oauth_grants SET last_used_at = ? WHERE id = ?');

export async function insertGrant(tx: Conn, g: OAuthGrantRow): Promise<void> {
  await tx.run(
    INSERT_GRANT,
    G.values({
      id: g.id,
      workspace_id: g.workspaceId,
      member_id: g.memberId,
      agent_key_id: g.agentKeyId,
      client_id: g.clientId,
      client_name: g.clientName,
      redirect_uri: g.redirectUri,
      scopes: g.scopes.join(' '),
      resource: g.resource,
      code_challenge: g.codeChallenge,
      created_at: g.createdAt,
      last_used_at: g.lastUsedAt,
      revoked_at: g.revokedAt,
    }),
  );
}

export function findGrant(conn: Conn, id: string): Promise<OAuthGrantRow | undefined> {
  return conn.get(GRANT, [id]);
}

/** A member's live grants whose code was exchanged (the clients they connected), newest first. */
export function memberGrants(conn: Conn, workspaceId: string, memberId: string): Promise<OAuthGrantRow[]> {
  return conn.all(MEMBER_GRANTS, [workspaceId, memberId]);
}

export function revokeGrant(tx: Conn, id: string, now: number): Promise<number> {
  return tx.run(REVOKE_GRANT, [now, id]);
}

/** Revokes one of the member's own grants; 0 when it is not theirs or already revoked. */
export function revokeMemberGrant(
  tx: Conn,
  q: { id: string; workspaceId: string; memberId: string; now: number },
): Promise<number> {
  return tx.run(REVOKE_MEMBER_GRANT, [q.now, q.id, q.workspaceId, q.memberId]);
}

export function touchGrant(tx: Conn, id: string, now: number): Promise<number> {
  return tx.run(TOUCH_GRANT, [now, id]);
}

// ── codes and tokens ────────────────────────────────────────────────────────────────────────────

export type OAuthTokenKind = 'code' | 'access' | 'refresh';

export interface OAuthTokenRow {
  tokenHash: string;
  grantId: string;
  workspaceId: string;
  kind: OAuthTokenKind;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

const T = columns('oauth_tokens', [
  'token_hash',
  'grant_id',
  'workspace_id',
  'kind',
  'created_at',
  'expires_at',
  'used_at',
]);
const toToken = (raw: unknown[]): OAuthTokenRow => {
  const r = T.row(raw);
  return {
    tokenHash: r.token_hash,
    grantId: r.grant_id,
    workspaceId: r.workspace_id,
    kind: r.kind as OAuthTokenKind,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
  };
};
const INSERT_TOKEN = sql(`INSERT INTO oauth_tokens (${T.list}) VALUES (?, ?, ?, ?, ?, ?, NULL)`);
const TOKEN = sql(`SELECT ${T.list} FROM oauth_tokens WHERE token_hash = ?`, toToken);
/** Single use in one conditional update: of two presentations, one gets the row back. */
const USE_TOKEN = sql(
  `UPDATE oauth_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL RETURNING ${T.list}`,
  toToken,
);
const SWEEP_TOKENS = sql('DELETE FROM oauth_tokens WHERE expires_at < ?');

export async function insertToken(tx: Conn, t: Omit<OAuthTokenRow, 'usedAt'>): Promise<void> {
  await tx.run(INSERT_TOKEN, [t.tokenHash, t.grantId, t.workspaceId, t.kind, t.createdAt, t.expiresAt]);
}

export function findToken(conn: Conn, tokenHash: string): Promise<OAuthTokenRow | undefined> {
  return conn.get(TOKEN, [tokenHash]);
}

export function useToken(tx: Conn, tokenHash: string, now: number): Promise<OAuthTokenRow | undefined> {
  return tx.get(USE_TOKEN, [now, tokenHash]);
}

/** Background clean-up: codes and tokens past their expiry (a used refresh token expires too). */
export function sweepOAuthTokens(tx: Conn, before: number): Promise<number> {
  return tx.run(SWEEP_TOKENS, [before]);
}

// ── an access token, as a request presents it ────────────────────────────────────────────────────

export interface OAuthAccessRow {
  kind: OAuthTokenKind;
  expiresAt: number;
  /** Set when the access token was revoked on its own (RFC 7009). */
  usedAt: number | null;
  grantId: string;
  workspaceId: string;
  clientId: string;
  /** What the member granted (the key's own scopes bound them again at use). */
  scopes: string[];
  resource: string;
  grantRevokedAt: number | null;
  agentKeyId: string;
  agentId: string;
  agentScopes: string[];
  policyName: string | null;
  agentKeyRevokedAt: number | null;
}

const ACCESS = select({
  kind: 't.kind',
  expires_at: 't.expires_at',
  used_at: 't.used_at',
  grant_id: 'g.id',
  workspace_id: 'g.workspace_id',
  client_id: 'g.client_id',
  scopes: 'g.scopes',
  resource: 'g.resource',
  revoked_at: 'g.revoked_at',
  agent_key_id: 'k.id',
  agent_id: 'k.agent_id',
  agent_scopes: 'k.scopes',
  policy_name: 'k.policy_name',
  key_revoked_at: 'k.revoked_at',
});
const nullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const words = (v: unknown): string[] => String(v).split(' ').filter(Boolean);
const ACCESS_BY_HASH = sql(
  `SELECT ${ACCESS.list}
   FROM oauth_tokens t
   JOIN oauth_grants g ON g.id = t.grant_id
   JOIN agent_keys k ON k.id = g.agent_key_id AND k.workspace_id = g.workspace_id
   WHERE t.token_hash = ?`,
  ACCESS.map(
    (r): OAuthAccessRow => ({
      kind: r.kind as OAuthTokenKind,
      expiresAt: Number(r.expires_at),
      usedAt: nullableNumber(r.used_at),
      grantId: r.grant_id as string,
      workspaceId: r.workspace_id as string,
      clientId: r.client_id as string,
      scopes: words(r.scopes),
      resource: r.resource as string,
      grantRevokedAt: nullableNumber(r.revoked_at),
      agentKeyId: r.agent_key_id as string,
      agentId: r.agent_id as string,
      agentScopes: words(r.agent_scopes),
      policyName: (r.policy_name as string | null) ?? null,
      agentKeyRevokedAt: nullableNumber(r.key_revoked_at),
    }),
  ),
);

/** The token, its grant and the agent key it acts as, in one read (every request: revocation is at once). */
export function findAccess(conn: Conn, tokenHash: string): Promise<OAuthAccessRow | undefined> {
  return conn.get(ACCESS_BY_HASH, [tokenHash]);
}
