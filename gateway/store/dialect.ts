import type { LibSQLDatabase } from 'drizzle-orm/libsql';
import type * as SqliteTables from './sqlite/schema.ts';

/**
 * Store logic that is the same on every dialect (gateway/store/ledger.ts, approvals.ts) is written
 * once, typed with the SQLite store's tables and connection. Drizzle answers the same calls on
 * PostgreSQL given that store's own tables (same names, same columns), so the PostgreSQL store
 * passes its tables and connections through one cast (`OnConnection`); both run the same suites.
 */
export type Tables = typeof SqliteTables;
type Db = LibSQLDatabase<Tables>;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Conn = Db | Tx;

/** The same steps seen with another dialect's connection type. */
export type OnConnection<S, C> = {
  [K in keyof S]: S[K] extends (conn: Conn, ...rest: infer R) => infer O ? (conn: C, ...rest: R) => O : S[K];
};

export const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
export const parse = <T>(text: string | null): T => (text === null ? null : JSON.parse(text)) as T;
