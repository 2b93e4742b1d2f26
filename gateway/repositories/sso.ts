import { columns, only } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { Role } from '../domain/index.ts';

/**
 * Console single sign-on (issue 22): each workspace's identity provider, the email domains routed to
 * it, and the sign-ins under way. The rules (who may sign in, with which role) are in
 * services/sso/; the client secret and the PKCE verifiers are stored sealed by the service.
 */

export interface SsoConfigRow {
  workspaceId: string;
  issuer: string;
  clientId: string;
  /** Sealed (gateway/crypto/sealing.ts). */
  clientSecret: string;
  scopes: string[];
  roleClaim: string;
  roleMappings: { group: string; role: Role }[];
  defaultRole: Role | null;
  jit: boolean;
  required: boolean;
  createdAt: number;
  updatedAt: number;
}

const C = columns('sso_configs', [
  'workspace_id',
  'issuer',
  'client_id',
  'client_secret',
  'scopes',
  'role_claim',
  'role_mappings',
  'default_role',
  'jit',
  'required',
  'created_at',
  'updated_at',
]);
const toConfig = C.map(
  (r): SsoConfigRow => ({
    workspaceId: r.workspace_id,
    issuer: r.issuer,
    clientId: r.client_id,
    clientSecret: r.client_secret,
    scopes: JSON.parse(r.scopes) as string[],
    roleClaim: r.role_claim,
    roleMappings: JSON.parse(r.role_mappings) as { group: string; role: Role }[],
    defaultRole: r.default_role,
    jit: Number(r.jit) === 1,
    required: Number(r.required) === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  }),
);

const CONFIG = sql(`SELECT ${C.list} FROM sso_configs WHERE workspace_id = ?`, toConfig);
const UPSERT = sql(
  `INSERT INTO sso_configs (${C.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (workspace_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,
     client_secret = excluded.client_secret, scopes = excluded.scopes, role_claim = excluded.role_claim,
     role_mappings = excluded.role_mappings, default_role = excluded.default_role, jit = excluded.jit,
     required = excluded.required, updated_at = excluded.updated_at`,
);
const DELETE_CONFIG = sql('DELETE FROM sso_configs WHERE workspace_id = ?');
const REQUIRED = sql(
  'SELECT required FROM sso_configs WHERE workspace_id = ?',
  (raw) => Number(only(raw)) === 1,
);
const SECRETS = sql('SELECT workspace_id, client_secret FROM sso_configs ORDER BY workspace_id', (raw) => ({
  workspaceId: raw[0] as string,
  clientSecret: raw[1] as string,
}));
const RESEAL = sql('UPDATE sso_configs SET client_secret = ? WHERE workspace_id = ? AND client_secret = ?');

export function getSsoConfig(conn: Conn, workspaceId: string): Promise<SsoConfigRow | undefined> {
  return conn.get(CONFIG, [workspaceId]);
}

export async function putSsoConfig(tx: Conn, c: SsoConfigRow): Promise<void> {
  await tx.run(
    UPSERT,
    C.values({
      workspace_id: c.workspaceId,
      issuer: c.issuer,
      client_id: c.clientId,
      client_secret: c.clientSecret,
      scopes: JSON.stringify(c.scopes),
      role_claim: c.roleClaim,
      role_mappings: JSON.stringify(c.roleMappings),
      default_role: c.defaultRole,
      jit: c.jit ? 1 : 0,
      required: c.required ? 1 : 0,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    }),
  );
}

export async function deleteSsoConfig(tx: Conn, workspaceId: string): Promise<boolean> {
  const removed = await tx.run(DELETE_CONFIG, [workspaceId]);
  await tx.run(DELETE_DOMAINS, [workspaceId]);
  return removed > 0;
}

/** Whether the workspace's console takes single sign-on only (read on every console request). */
export async function isSsoRequired(conn: Conn, workspaceId: string): Promise<boolean> {
  return (await conn.get(REQUIRED, [workspaceId])) ?? false;
}

/** Every stored client secret (`warden secrets reseal`). */
export function listSsoSecrets(conn: Conn): Promise<{ workspaceId: string; clientSecret: string }[]> {
  return conn.all(SECRETS);
}

/** Replaces a stored client secret with the same one sealed anew, only if it is still `from`. */
export async function resealSsoSecret(
  tx: Conn,
  workspaceId: string,
  from: string,
  to: string,
): Promise<boolean> {
  return (await tx.run(RESEAL, [to, workspaceId, from])) > 0;
}

// ── domains ──────────────────────────────────────────────────────────────────────────────────────

const DOMAINS = sql('SELECT domain FROM sso_domains WHERE workspace_id = ? ORDER BY domain', only<string>);
const DOMAIN_OWNER = sql('SELECT workspace_id FROM sso_domains WHERE domain = ?', only<string>);
const DELETE_DOMAINS = sql('DELETE FROM sso_domains WHERE workspace_id = ?');
const CLAIM_DOMAIN = sql(
  'INSERT INTO sso_domains (domain, workspace_id) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING domain',
  only<string>,
);

export function listSsoDomains(conn: Conn, workspaceId: string): Promise<string[]> {
  return conn.all(DOMAINS, [workspaceId]);
}

/** The workspace whose single sign-on answers for this (lower-case) domain, if any. */
export function ssoDomainOwner(conn: Conn, domain: string): Promise<string | undefined> {
  return conn.get(DOMAIN_OWNER, [domain]);
}

/**
 * Replaces the workspace's domains with `domains`; answers the first one another workspace holds
 * (then nothing of the list is claimed: the caller rolls back). The primary key decides a race.
 */
export async function replaceSsoDomains(
  tx: Conn,
  workspaceId: string,
  domains: readonly string[],
): Promise<string | undefined> {
  await tx.run(DELETE_DOMAINS, [workspaceId]);
  for (const domain of domains) {
    if ((await tx.all(CLAIM_DOMAIN, [domain, workspaceId])).length === 0) return domain;
  }
  return undefined;
}

// ── sign-ins under way ───────────────────────────────────────────────────────────────────────────

export interface SsoSignInRow {
  stateHash: string;
  workspaceId: string;
  browserHash: string;
  nonce: string;
  /** Sealed. */
  codeVerifier: string;
  next: string;
  createdAt: number;
  expiresAt: number;
}

const F = columns('sso_sign_ins', [
  'state_hash',
  'workspace_id',
  'browser_hash',
  'nonce',
  'code_verifier',
  'next',
  'created_at',
  'expires_at',
]);
const toSignIn = F.map(
  (r): SsoSignInRow => ({
    stateHash: r.state_hash,
    workspaceId: r.workspace_id,
    browserHash: r.browser_hash,
    nonce: r.nonce,
    codeVerifier: r.code_verifier,
    next: r.next,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  }),
);
const INSERT_SIGN_IN = sql(`INSERT INTO sso_sign_ins (${F.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
/** One conditional update: of two callbacks with the same state, one gets the row. */
const USE_SIGN_IN = sql(
  `UPDATE sso_sign_ins SET used_at = ? WHERE state_hash = ? AND used_at IS NULL RETURNING ${F.list}`,
  toSignIn,
);
const SWEEP_SIGN_INS = sql('DELETE FROM sso_sign_ins WHERE expires_at < ?');

export async function insertSsoSignIn(tx: Conn, s: SsoSignInRow): Promise<void> {
  await tx.run(
    INSERT_SIGN_IN,
    F.values({
      state_hash: s.stateHash,
      workspace_id: s.workspaceId,
      browser_hash: s.browserHash,
      nonce: s.nonce,
      code_verifier: s.codeVerifier,
      next: s.next,
      created_at: s.createdAt,
      expires_at: s.expiresAt,
    }),
  );
}

/** Marks the sign-in used and answers it; undefined when unknown or used already. */
export function useSsoSignIn(tx: Conn, stateHash: string, at: number): Promise<SsoSignInRow | undefined> {
  return tx.get(USE_SIGN_IN, [at, stateHash]);
}

/** Sign-ins that ended before `before` (the sweeper; kept a while so a late callback is told it expired). */
export function sweepSsoSignIns(tx: Conn, before: number): Promise<number> {
  return tx.run(SWEEP_SIGN_INS, [before]);
}
