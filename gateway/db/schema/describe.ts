import type { SQL } from 'drizzle-orm';

/**
 * The words a table is described with, once for both dialects (`tables.ts`); `sqlite.ts` and
 * `postgres.ts` turn a description into each dialect's drizzle schema, which drizzle-kit diffs into
 * migrations. The words follow drizzle's own (`text('x').notNull().default('')`), keyed by the
 * column's SQL name, so a column reads the same here, in a statement and in a row.
 *
 * Kinds: `text`; `integer` for small counts and positions (INTEGER on both); `bigint` for epoch
 * milliseconds, money in minor units and sums of them (INTEGER on SQLite, which is 64-bit, BIGINT
 * on PostgreSQL; both read as JS numbers).
 */

export type Kind = 'text' | 'integer' | 'bigint';

export interface ColumnSpec {
  readonly kind: Kind;
  /** The values a text column may hold: a type for the rows, not a constraint in the database. */
  readonly enum?: readonly string[];
  readonly notNull: boolean;
  readonly primaryKey: boolean;
  readonly default?: string | number | SQL;
  /** `table.column` this column points at (a foreign key). */
  readonly references?: string;
  /** A key the database numbers itself: AUTOINCREMENT on SQLite, an identity on PostgreSQL. */
  readonly identity?: boolean;
}

/** One column; `T` is its value's type and `Null` whether it may be null, for the rows' types. */
export class Column<T, Null extends boolean = true> {
  declare readonly _value: T;
  declare readonly _null: Null;
  constructor(readonly spec: ColumnSpec) {}

  notNull(): Column<T, false> {
    return new Column({ ...this.spec, notNull: true });
  }
  primaryKey(): Column<T, false> {
    return new Column({ ...this.spec, primaryKey: true });
  }
  /** The primary key, numbered by the database in insertion order (never reused). */
  identity(): Column<T, false> {
    return new Column({ ...this.spec, primaryKey: true, notNull: true, identity: true });
  }
  default(value: T | SQL): Column<T, Null> {
    return new Column({ ...this.spec, default: value as string | number | SQL });
  }
  references(target: `${string}.${string}`): Column<T, Null> {
    return new Column({ ...this.spec, references: target });
  }
}

const column = <T>(kind: Kind, values?: readonly string[]) =>
  new Column<T>({ kind, notNull: false, primaryKey: false, ...(values && { enum: values }) });

export function text(): Column<string>;
export function text<const E extends string>(options: { enum: readonly E[] }): Column<E>;
export function text(options?: { enum: readonly string[] }): Column<string> {
  return column<string>('text', options?.enum);
}
export const integer = (): Column<number> => column<number>('integer');
export const bigint = (): Column<number> => column<number>('bigint');

// biome-ignore lint/suspicious/noExplicitAny: any column, whatever its value type.
export type AnyColumn = Column<any, boolean>;
export type Columns = Record<string, AnyColumn>;

export interface IndexSpec<N extends string = string> {
  readonly name: string;
  readonly unique?: boolean;
  /** Column names, or an SQL expression (written with quoted column names, as drizzle renders them). */
  readonly on: readonly [N | SQL, ...(N | SQL)[]];
  /** A partial index's condition. */
  readonly where?: SQL;
}

/** Any table, as the dialect schemas read it. */
export interface TableSpec {
  readonly columns: Columns;
  readonly primaryKey?: readonly string[];
  readonly indexes: readonly IndexSpec[];
}

export interface Table<C extends Columns> extends TableSpec {
  readonly columns: C;
  /** A primary key over several columns (one column says `.primaryKey()` itself). */
  readonly primaryKey?: readonly (keyof C & string)[];
  readonly indexes: readonly IndexSpec<keyof C & string>[];
}

/** A table: its columns (by SQL name, in order), a composite primary key and its indexes. */
export function table<const C extends Columns>(
  columns: C,
  keys: { primaryKey?: readonly (keyof C & string)[]; indexes?: readonly IndexSpec<keyof C & string>[] } = {},
): Table<C> {
  return { columns, indexes: [], ...keys };
}

/** The row a table's columns make: `workspace_id: string`, `revoked_at: number | null`, … */
export type RowOf<C extends Columns> = {
  -readonly [K in keyof C]: C[K] extends Column<infer T, infer Null>
    ? Null extends true
      ? T | null
      : T
    : never;
};

/**
 * The name PostgreSQL gives a composite primary key: drizzle's default names every column, and
 * PostgreSQL cuts identifiers at 63 bytes, so a longer one is `<table>_pk` there. SQLite keeps the
 * default (its constraint names are not limited, and its migrations already carry them).
 */
export const pgPrimaryKeyName = (tableName: string, columns: readonly string[]): string | undefined => {
  const name = `${tableName}_${columns.join('_')}_pk`;
  return name.length > 63 ? `${tableName}_pk` : undefined;
};
