import type * as pg from './postgres.ts';
import type * as lite from './sqlite.ts';

/**
 * The row of a table as both dialects store it: column name (as in SQL) → value type. Repositories
 * write their statements once against this type, and the checks at the bottom make the compiler
 * refuse any difference between the SQLite and the PostgreSQL schema, so one statement text is
 * right on both (DESIGN §8: one store contract).
 */
type ColumnsOf<T> = T extends { _: { columns: infer C } }
  ? {
      -readonly [K in keyof C as C[K] extends { _: { name: infer N extends string } }
        ? N
        : never]: C[K] extends {
        _: { data: infer D; notNull: infer NotNull };
      }
        ? NotNull extends true
          ? D
          : D | null
        : never;
    }
  : never;

/** Each dialect's tables by their SQL name (`agent_keys`). */
type BySqlName<S> = {
  [K in keyof S as S[K] extends { _: { name: infer N extends string; columns: unknown } } ? N : never]: S[K];
};
type Tables = BySqlName<typeof lite>;
type PgTables = BySqlName<typeof pg>;
export type TableName = keyof Tables & string;

/** `workspace_id: string`, `revoked_at: number | null`, … for one table. */
export type Row<T extends TableName> = ColumnsOf<Tables[T]>;

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

// ── both schemas, checked against each other ─────────────────────────────────────────────────────

type Exactly<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
type Mismatched = {
  [K in TableName]: Exactly<ColumnsOf<Tables[K]>, ColumnsOf<PgTables[K & keyof PgTables]>> extends true
    ? never
    : K;
}[TableName];
type SameTableNames = Exactly<TableName, keyof PgTables & string>;

/** Fails to compile, naming the table, when the two schemas differ in a column's name, type or nullability. */
export const SCHEMAS_AGREE: [Mismatched] extends [never]
  ? SameTableNames extends true
    ? true
    : never
  : Mismatched = true;
