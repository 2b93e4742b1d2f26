import { defineConfig } from 'drizzle-kit';

// `npm run db:generate:pg -- --name <what>` writes SQL migrations for the PostgreSQL store. drizzle-kit
// writes foreign keys as REFERENCES "public"."table"; the script drops the "public". so the
// migrations apply in whatever schema search_path names (replicas and tests may use their own).
export default defineConfig({
  dialect: 'postgresql',
  schema: './gateway/db/schema/postgres.ts',
  out: './migrations/postgres',
});
