import { columns, select } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { PolicyPointer, PolicyVersion } from '../domain/index.ts';
import { bumpConfigVersion } from './config.ts';

/** Named policies: a pointer to the current version, and every immutable version (DESIGN §6). */

const P = columns('policies', [
  'workspace_id',
  'name',
  'current_version_id',
  'current_version',
  'updated_at',
]);
const toPointer = (raw: unknown[]): PolicyPointer => {
  const {
    workspace_id: workspaceId,
    name,
    current_version_id: versionId,
    current_version: version,
    updated_at: updatedAt,
  } = P.row(raw);
  return { workspaceId, name, versionId, version, updatedAt };
};
const V = columns('policy_versions', [
  'id',
  'workspace_id',
  'name',
  'version',
  'document',
  'content_hash',
  'created_by',
  'created_at',
  'commit_id',
  'commit_author',
]);
const toVersion = (raw: unknown[]): PolicyVersion => {
  const {
    id,
    workspace_id: workspaceId,
    name,
    version,
    document,
    content_hash: contentHash,
    created_by: createdBy,
    created_at: createdAt,
    commit_id: commitId,
    commit_author: commitAuthor,
  } = V.row(raw);
  return {
    id,
    workspaceId,
    name,
    version,
    document: JSON.parse(document),
    contentHash,
    createdBy,
    createdAt,
    commit: commitId ? { id: commitId, author: commitAuthor } : null,
  };
};

const POINTER = sql(`SELECT ${P.list} FROM policies WHERE workspace_id = ? AND name = ?`, toPointer);
const POINTERS = sql(`SELECT ${P.list} FROM policies WHERE workspace_id = ? ORDER BY name`, toPointer);
const VERSION = sql(`SELECT ${V.list} FROM policy_versions WHERE id = ? AND workspace_id = ?`, toVersion);
const VERSIONS = sql(
  `SELECT ${V.list} FROM policy_versions WHERE workspace_id = ? AND name = ? ORDER BY version DESC`,
  toVersion,
);
const CURRENT_VERSION = select({
  id: 'p.current_version_id',
  version: 'p.current_version',
  hash: 'v.content_hash',
});
const CURRENT = sql(
  `SELECT ${CURRENT_VERSION.list}
   FROM policies p JOIN policy_versions v ON v.id = p.current_version_id
   WHERE p.workspace_id = ? AND p.name = ?`,
  CURRENT_VERSION.map((r) => ({ id: r.id as string, version: r.version as number, hash: r.hash as string })),
);
const INSERT_VERSION = sql(`INSERT INTO policy_versions (${V.list}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
const POINT = sql(
  `INSERT INTO policies (workspace_id, name, current_version_id, current_version, created_at, updated_at)
   VALUES (?, ?, ?, ?, ?, ?)
   ON CONFLICT (workspace_id, name) DO UPDATE SET
     current_version_id = excluded.current_version_id, current_version = excluded.current_version,
     updated_at = excluded.updated_at`,
);

export function getPointer(
  conn: Conn,
  workspaceId: string,
  name: string,
): Promise<PolicyPointer | undefined> {
  return conn.get(POINTER, [workspaceId, name]);
}

export function listPointers(conn: Conn, workspaceId: string): Promise<PolicyPointer[]> {
  return conn.all(POINTERS, [workspaceId]);
}

export function getVersion(conn: Conn, workspaceId: string, id: string): Promise<PolicyVersion | undefined> {
  return conn.get(VERSION, [id, workspaceId]);
}

export function listVersions(conn: Conn, workspaceId: string, name: string): Promise<PolicyVersion[]> {
  return conn.all(VERSIONS, [workspaceId, name]);
}

/** The current version's id, number and content hash. */
export function currentVersion(conn: Conn, workspaceId: string, name: string) {
  return conn.get(CURRENT, [workspaceId, name]);
}

/** Stores a version and points the name at it (call under the workspace scope). */
export async function insertVersion(tx: Conn, v: PolicyVersion): Promise<void> {
  await tx.run(
    INSERT_VERSION,
    V.values({
      id: v.id,
      workspace_id: v.workspaceId,
      name: v.name,
      version: v.version,
      document: JSON.stringify(v.document),
      content_hash: v.contentHash,
      created_by: v.createdBy,
      created_at: v.createdAt,
      commit_id: v.commit?.id ?? null,
      commit_author: v.commit?.author ?? null,
    }),
  );
  await tx.run(POINT, [v.workspaceId, v.name, v.id, v.version, v.createdAt, v.createdAt]);
  await bumpConfigVersion(tx);
}
