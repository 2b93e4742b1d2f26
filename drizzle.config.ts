import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes SQL migrations for the SQLite/libSQL store.
export default defineConfig({
  dialect: 'sqlite',
  schema: './gateway/db/schema/sqlite.ts',
  out: './migrations/sqlite',
});
