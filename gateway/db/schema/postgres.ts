import type { SQL } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  index,
  integer,
  type PgColumnBuilderBase,
  type PgTableWithColumns,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { type ColumnSpec, pgPrimaryKeyName, type TableSpec } from './describe.ts';
import { TABLES } from './tables.ts';

/**
 * The PostgreSQL schema, derived from `tables.ts`, table for table and index for index like the
 * SQLite one (DESIGN §8): what `npm run db:generate:pg` (drizzle-kit) diffs into migrations/postgres.
 * `bigint` columns are BIGINT read as JS numbers (epoch ms and minor units fit in 2^53).
 */

// biome-ignore lint/suspicious/noExplicitAny: drizzle-kit only reads the tables; their rows are typed by `columns.ts`.
type PostgresTable = PgTableWithColumns<any>;

function columnOf(name: string, c: ColumnSpec, tables: Record<string, PostgresTable>) {
  // biome-ignore lint/suspicious/noExplicitAny: each step of drizzle's builder has its own type.
  let b: any =
    c.kind === 'text'
      ? text(name, c.enum ? { enum: c.enum as [string] } : {})
      : c.kind === 'integer'
        ? integer(name)
        : bigint(name, { mode: 'number' });
  if (c.notNull) b = b.notNull();
  if (c.primaryKey) b = b.primaryKey();
  if (c.identity) b = b.generatedAlwaysAsIdentity();
  if (c.default !== undefined) b = b.default(c.default);
  const target = c.references?.split('.');
  if (target) b = b.references((): AnyPgColumn => tables[target[0] as string]?.[target[1] as string]);
  return b as PgColumnBuilderBase;
}

function tableOf(name: string, t: TableSpec, tables: Record<string, PostgresTable>): PostgresTable {
  const columns = Object.fromEntries(
    Object.entries(t.columns).map(([column, c]) => [column, columnOf(column, c.spec, tables)]),
  );
  return pgTable(name, columns, (built) => {
    const on = (c: string | SQL) => (typeof c === 'string' ? built[c] : c) as AnyPgColumn;
    const key = t.primaryKey;
    return [
      ...(key
        ? [primaryKey({ name: pgPrimaryKeyName(name, key), columns: key.map(on) as [AnyPgColumn] })]
        : []),
      ...t.indexes.map((i) => {
        const made = (i.unique ? uniqueIndex : index)(i.name).on(...(i.on.map(on) as [AnyPgColumn]));
        return i.where ? made.where(i.where) : made;
      }),
    ];
  });
}

const tables: Record<string, PostgresTable> = {};
for (const [name, t] of Object.entries<TableSpec>(TABLES)) tables[name] = tableOf(name, t, tables);
const all = tables as Record<keyof typeof TABLES, PostgresTable>;

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
