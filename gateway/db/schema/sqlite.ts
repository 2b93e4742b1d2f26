import type { SQL } from 'drizzle-orm';
import {
  type AnySQLiteColumn,
  index,
  integer,
  primaryKey,
  type SQLiteColumnBuilderBase,
  type SQLiteTableWithColumns,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core';
import type { ColumnSpec, TableSpec } from './describe.ts';
import { TABLES } from './tables.ts';

/**
 * The SQLite schema, derived from `tables.ts`: what `npm run db:generate` (drizzle-kit) diffs into
 * migrations/sqlite. Every kind is INTEGER or TEXT here (SQLite's integers are 64-bit).
 */

// biome-ignore lint/suspicious/noExplicitAny: drizzle-kit only reads the tables; their rows are typed by `columns.ts`.
type SqliteTable = SQLiteTableWithColumns<any>;

function columnOf(name: string, c: ColumnSpec, tables: Record<string, SqliteTable>) {
  // biome-ignore lint/suspicious/noExplicitAny: each step of drizzle's builder has its own type.
  let b: any = c.kind === 'text' ? text(name, c.enum ? { enum: c.enum as [string] } : {}) : integer(name);
  if (c.notNull) b = b.notNull();
  if (c.primaryKey) b = c.identity ? b.primaryKey({ autoIncrement: true }) : b.primaryKey();
  if (c.default !== undefined) b = b.default(c.default);
  const target = c.references?.split('.');
  if (target) b = b.references((): AnySQLiteColumn => tables[target[0] as string]?.[target[1] as string]);
  return b as SQLiteColumnBuilderBase;
}

function tableOf(name: string, t: TableSpec, tables: Record<string, SqliteTable>): SqliteTable {
  const columns = Object.fromEntries(
    Object.entries(t.columns).map(([column, c]) => [column, columnOf(column, c.spec, tables)]),
  );
  return sqliteTable(name, columns, (built) => {
    const on = (c: string | SQL) => (typeof c === 'string' ? built[c] : c) as AnySQLiteColumn;
    return [
      ...(t.primaryKey ? [primaryKey({ columns: t.primaryKey.map(on) as [AnySQLiteColumn] })] : []),
      ...t.indexes.map((i) => {
        const made = (i.unique ? uniqueIndex : index)(i.name).on(...(i.on.map(on) as [AnySQLiteColumn]));
        return i.where ? made.where(i.where) : made;
      }),
    ];
  });
}

const tables: Record<string, SqliteTable> = {};
for (const [name, t] of Object.entries<TableSpec>(TABLES)) tables[name] = tableOf(name, t, tables);
const all = tables as Record<keyof typeof TABLES, SqliteTable>;

// drizzle-kit reads a schema file's exports, one per table; `columns.ts` checks none is missing.
export const {
  workspaces,
  members,
  agent_keys,
  invites,
  businesses,
  transactions,
  confirmation_tokens,
  idempotency_keys,
  audit_events,
  policies,
  policy_versions,
  spend_buckets,
  transaction_rollups,
  approvals,
  approval_stages,
  approval_votes,
  outbox,
  webhooks,
  rate_counters,
  approval_links,
  approval_otps,
  config_version,
  signing_keys,
  receipts,
  agent_prices,
  console_sessions,
  console_sign_in_links,
  sso_configs,
  sso_domains,
  sso_sign_ins,
  oauth_clients,
  oauth_grants,
  oauth_tokens,
  ledger_queue,
  ledger_entries,
  ledger_nodes,
  ledger_checkpoints,
} = all;
