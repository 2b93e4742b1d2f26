import { ConfigError, loadConfig } from '../config/index.ts';
import { openDatabase } from './db/open.ts';

/** `warden migrate`: apply the migrations for DATABASE_URL and exit. */
async function run(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command !== 'migrate') {
    process.stderr.write('usage: warden migrate\n');
    return 64;
  }
  const config = loadConfig();
  const db = await openDatabase(config.databaseUrl, { migrate: true });
  await db.close();
  process.stdout.write(`migrations applied to ${db.dialect} database\n`);
  return 0;
}

run(process.argv.slice(2)).then(
  // No process.exit on success: what was written to a piped stdout is still flushed.
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(
      `warden: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(error instanceof ConfigError ? 78 : 1);
  },
);
