import type { RowOf } from './describe.ts';
import type * as pg from './postgres.ts';
import type * as lite from './sqlite.ts';
import type { TABLES } from './tables.ts';

/**
 * Rows typed by the one description of the tables (`tables.ts`): column name (as in SQL) → value
 * type. Repositories write their statements once against these types; both dialect schemas are
 * derived from the same description, so one statement text is right on both (DESIGN §8: one store
 * contract) by construction rather than by comparing two schemas.
 */
type Tables = typeof TABLES;
export type TableName = keyof Tables & string;

/** `workspace_id: string`, `revoked_at: number | null`, … for one table. */
export type Row<T extends TableName> = RowOf<Tables[T]['columns']>;

/** The values of `names`, in order: what a statement selecting those columns yields per row. */
export type Picked<T extends TableName, C extends readonly (keyof Row<T>)[]> = {
  -readonly [I in keyof C]: Row<T>[C[I]];
};

/**
 * A select list checked against the table at compile time; `map` receives the row in that order.
 * `select('transactions', ['id', 'status'])` → `{ list: 'id, status', … }`.
 */
export function columns<T extends TableName, const C extends readonly (keyof Row<T> & string)[]>(
  _table: T,
  names: C,
): { list: string; names: C; row: (raw: unknown[]) => Picked<T, C> } {
  return { list: names.join(', '), names, row: (raw) => raw as Picked<T, C> };
}

// ── both schemas export every table ───────────────────────────────────────────────────────────────

type Exactly<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;

/**
 * Fails to compile when a dialect file leaves a described table out of its exports (drizzle-kit
 * would then write a migration dropping it) or exports one that is not described.
 */
export const SCHEMAS_COMPLETE: Exactly<keyof typeof lite, TableName> extends true
  ? Exactly<keyof typeof pg, TableName>
  : false = true;
