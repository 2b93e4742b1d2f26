import { onlyNumber } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';

/**
 * The version of what the execute path caches (agent keys, businesses, policy pointers): every
 * write to those tables bumps it in the same transaction (the repositories below do it), so a
 * reader that sees the version unchanged knows its copies are current.
 */
const READ = sql('SELECT version FROM config_version WHERE id = 1', onlyNumber);
const BUMP = sql('UPDATE config_version SET version = version + 1 WHERE id = 1');

export async function configVersion(conn: Conn): Promise<number> {
  return (await conn.get(READ)) ?? 0;
}

export async function bumpConfigVersion(tx: Conn): Promise<void> {
  await tx.run(BUMP);
}
