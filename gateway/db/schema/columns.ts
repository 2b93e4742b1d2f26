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

/** The row of the columns `C` of table `T`, by column name. */
export type Picked<T extends TableName, C extends readonly (keyof Row<T>)[]> = Pick<Row<T>, C[number]>;

/**
 * Statements return rows as arrays (DESIGN §8: prepared once, read positionally, for speed); a
 * select list names them once, so code reads and writes rows by column name and two columns of one
 * type cannot trade places unnoticed.
 */
export interface SelectList<R> {
  /** `id, status, …` for the statement text. */
  readonly list: string;
  /** The row as an object keyed by the list's names. */
  readonly row: (raw: unknown[]) => R;
  /** A statement's row mapper that receives the named row. */
  readonly map: <M>(fn: (row: R) => M) => (raw: unknown[]) => M;
}

function selectList<R>(names: readonly string[], expressions: readonly string[]): SelectList<R> {
  const row = (raw: unknown[]) => {
    const named: Record<string, unknown> = {};
    names.forEach((name, i) => {
      named[name] = raw[i];
    });
    return named as R;
  };
  return { list: expressions.join(', '), row, map: (fn) => (raw) => fn(row(raw)) };
}

/**
 * A select list of table columns, checked against the table at compile time, with their types:
 * `columns('transactions', ['id', 'status'])` → `{ list: 'id, status', row: (raw) => ({id, status}) }`.
 * `values` turns a named row into the parameters of `INSERT INTO t (${list}) VALUES (…)`, in order.
 */
export function columns<T extends TableName, const C extends readonly (keyof Row<T> & string)[]>(
  _table: T,
  names: C,
): SelectList<Picked<T, C>> & { names: C; values: (row: Picked<T, C>) => unknown[] } {
  const values = (row: Picked<T, C>) => names.map((name) => row[name]);
  return { ...selectList<Picked<T, C>>(names, names), names, values };
}

/**
 * A select list of expressions (joins, aggregates), each under a name: the row comes back keyed by
 * those names, its values as the driver gives them (`unknown`, to be converted by the reader).
 * `select({ status: 'a.status', count: 'count(*)' })` → `{ list: 'a.status, count(*)', … }`.
 */
export function select<const N extends string>(
  expressions: Record<N, string>,
): SelectList<Record<N, unknown>> {
  return selectList(Object.keys(expressions), Object.values(expressions));
}

/** The one value of a single-column row (`SELECT id …`), as the driver gives it: nothing to swap. */
export const only = <V = unknown>(raw: unknown[]): V => raw[0] as V;
/** The one value of a single-column row as a number (`SELECT count(*) …`; PostgreSQL's bigint). */
export const onlyNumber = (raw: unknown[]): number => Number(raw[0]);

// ── both schemas export every table ───────────────────────────────────────────────────────────────

/** `true`, or the tables a dialect file fails to export (drizzle-kit would drop them) or exports undescribed. */
type ExportsEveryTable<M> = [Exclude<TableName, keyof M> | Exclude<keyof M, TableName>] extends [never]
  ? true
  : { missing: Exclude<TableName, keyof M>; undescribed: Exclude<keyof M, TableName> };

/** Fails to compile, naming the table, when sqlite.ts or postgres.ts does not export exactly the described tables. */
export const SCHEMAS_COMPLETE: {
  sqlite: ExportsEveryTable<typeof lite>;
  postgres: ExportsEveryTable<typeof pg>;
} = {
  sqlite: true,
  postgres: true,
};
