import { columns, only } from '../db/schema/columns.ts';
import { type Conn, placeholders, sql } from '../db/types.ts';
import type { Business, BusinessStatus, Operation, TransactionStatus } from '../domain/index.ts';
import { bumpConfigVersion } from './config.ts';

/**
 * A business as its own user (issue 12): its key, its profile, adapter and signing secrets, its
 * lifecycle status, and the calls agents made to it. Every change to what the execute path caches
 * bumps the config version in the same transaction (repositories/config.ts), so it takes effect
 * for the next call on every replica. The key is not cached: it is read on every request.
 */

const KEYED = columns('businesses', ['id', 'status']);
const BY_KEY = sql(
  `SELECT ${KEYED.list} FROM businesses WHERE key_hash = ?`,
  KEYED.map((r) => ({ id: r.id, status: r.status as BusinessStatus })),
);
const SET_KEY = sql('UPDATE businesses SET key_hash = ? WHERE id = ?');
const REVOKE_KEY = sql('UPDATE businesses SET key_hash = NULL WHERE id = ? AND key_hash IS NOT NULL');
const SET_PROFILE = sql('UPDATE businesses SET name = ?, description = ? WHERE id = ?');
const SET_ADAPTER = sql('UPDATE businesses SET adapter = ? WHERE id = ?');
const SET_SECRETS = sql(
  `UPDATE businesses SET signing_secret = ?, previous_signing_secret = ?, previous_secret_until = ?
   WHERE id = ? AND signing_secret = ?`,
);
const SET_STATUS = sql('UPDATE businesses SET status = ?, sandbox_workspaces = ? WHERE id = ?');

export function findBusinessByKeyHash(
  conn: Conn,
  keyHash: string,
): Promise<{ id: string; status: BusinessStatus } | undefined> {
  return conn.get(BY_KEY, [keyHash]);
}

/** Replaces the key; answers whether the business exists. */
export async function setBusinessKey(tx: Conn, id: string, keyHash: string): Promise<boolean> {
  return (await tx.run(SET_KEY, [keyHash, id])) > 0;
}

/** False when the business has no key (never had one, or it was revoked already). */
export async function revokeBusinessKey(tx: Conn, id: string): Promise<boolean> {
  return (await tx.run(REVOKE_KEY, [id])) > 0;
}

export async function updateBusinessProfile(
  tx: Conn,
  id: string,
  profile: { name: string; description: string },
): Promise<void> {
  await tx.run(SET_PROFILE, [profile.name, profile.description, id]);
  await bumpConfigVersion(tx);
}

export async function updateBusinessAdapter(
  tx: Conn,
  id: string,
  adapter: Business['adapter'],
): Promise<void> {
  await tx.run(SET_ADAPTER, [JSON.stringify(adapter), id]);
  await bumpConfigVersion(tx);
}

/**
 * The new signing secret, with the one it replaces kept for signing until `previousUntil`; only if
 * the current secret is still `from` (a concurrent rotation or reseal wins, this one answers false).
 */
export async function rotateSigningSecrets(
  tx: Conn,
  id: string,
  s: { from: string; current: string; previous: string; previousUntil: number },
): Promise<boolean> {
  if ((await tx.run(SET_SECRETS, [s.current, s.previous, s.previousUntil, id, s.from])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}

export async function updateBusinessStatus(
  tx: Conn,
  id: string,
  status: BusinessStatus,
  sandboxWorkspaces: readonly string[],
): Promise<void> {
  await tx.run(SET_STATUS, [status, JSON.stringify(sandboxWorkspaces), id]);
  await bumpConfigVersion(tx);
}

/** Which of `ids` are workspaces (a sandbox list names only real ones). */
export async function existingWorkspaces(conn: Conn, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await conn.all(
    sql(`SELECT id FROM workspaces WHERE id IN (${placeholders(ids.length)})`, only<string>),
    [...ids],
  );
  return new Set(rows);
}

export interface BusinessCall {
  id: string;
  workspaceId: string;
  operation: Operation;
  status: TransactionStatus;
  createdAt: number;
  /**
   * From recorded to settled, for a call answered at once (no approval, no queue): about the
   * adapter's latency, which the ledger does not keep on its own. Null otherwise.
   */
  durationMs: number | null;
}

export interface BusinessCallFilter {
  status?: TransactionStatus;
  from?: number;
  to?: number;
  /** The id to continue after (ids are time-ordered ULIDs; newest first). */
  cursor?: string;
  limit: number;
}

const CALL = columns('transactions', [
  'id',
  'workspace_id',
  'operation',
  'status',
  'created_at',
  'updated_at',
  'approval_id',
  'release_at',
]);
const TIMED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'pending_confirmation']);

/** The calls agents made to one business, newest first (index transactions_business_id). */
export function listBusinessCalls(
  conn: Conn,
  businessId: string,
  f: BusinessCallFilter,
): Promise<BusinessCall[]> {
  const where = ['business_id = ?'];
  const params: unknown[] = [businessId];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (f.status) add('status = ?', f.status);
  if (f.from !== undefined) add('created_at >= ?', f.from);
  if (f.to !== undefined) add('created_at < ?', f.to);
  if (f.cursor) add('id < ?', f.cursor);
  params.push(f.limit);
  const text = `SELECT ${CALL.list} FROM transactions WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`;
  return conn.all(
    sql(
      text,
      CALL.map((r) => {
        const status = r.status as TransactionStatus;
        const createdAt = Number(r.created_at);
        const direct = TIMED.has(status) && r.approval_id === null && r.release_at === null;
        return {
          id: r.id,
          workspaceId: r.workspace_id,
          operation: r.operation as Operation,
          status,
          createdAt,
          durationMs: direct ? Number(r.updated_at) - createdAt : null,
        };
      }),
    ),
    params,
  );
}

const PREVIOUS = columns('businesses', ['id', 'previous_signing_secret']);
const PREVIOUS_SECRETS = sql(
  `SELECT ${PREVIOUS.list} FROM businesses WHERE previous_signing_secret IS NOT NULL ORDER BY id`,
  PREVIOUS.map((r) => ({ id: r.id, previousSigningSecret: r.previous_signing_secret as string })),
);
const RESEAL_PREVIOUS = sql(
  'UPDATE businesses SET previous_signing_secret = ? WHERE id = ? AND previous_signing_secret = ?',
);

/** Every rotated-out signing secret still stored (`warden secrets reseal`). */
export function listPreviousBusinessSecrets(
  conn: Conn,
): Promise<{ id: string; previousSigningSecret: string }[]> {
  return conn.all(PREVIOUS_SECRETS);
}

/** As resealBusinessSecret, for the rotated-out secret: only if it is still `from`. */
export async function resealPreviousBusinessSecret(
  tx: Conn,
  id: string,
  from: string,
  to: string,
): Promise<boolean> {
  if ((await tx.run(RESEAL_PREVIOUS, [to, id, from])) === 0) return false;
  await bumpConfigVersion(tx);
  return true;
}
