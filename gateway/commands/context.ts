import { type Config, loadConfig } from '../../config/index.ts';
import { createSealer, type Sealer } from '../crypto/sealing.ts';
import { openDatabase } from '../db/open.ts';
import type { Db } from '../db/types.ts';

/** What a command needs: the config (env), the database (migrated), the sealer. */
export interface CommandContext {
  config: Config;
  db: Db;
  sealer: Sealer;
  out: (line: string) => void;
  err: (line: string) => void;
}

export async function openCommandContext(): Promise<CommandContext> {
  const config = loadConfig();
  const db = await openDatabase(config.databaseUrl, { migrate: true });
  return {
    config,
    db,
    sealer: createSealer(config.secretsKey, config.secretsKeyPrevious),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}
