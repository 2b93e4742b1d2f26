import { ConfigError } from '../config/index.ts';
import { auditVerify } from './commands/audit.ts';
import { type CommandContext, openCommandContext } from './commands/context.ts';
import { keysRotate } from './commands/keys.ts';
import { migrate } from './commands/migrate.ts';
import { receiptVerify } from './commands/receipt.ts';
import { secretsReseal } from './commands/secrets.ts';

const USAGE = [
  'usage: warden migrate',
  '       warden keys rotate',
  '       warden audit verify [--workspace <id>]',
  '       warden receipt verify <file | transaction id> [--jwks <url | file>]',
  '       warden secrets reseal',
].join('\n');

type Command = (ctx: CommandContext, args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  migrate,
  'keys rotate': keysRotate,
  'audit verify': auditVerify,
  'receipt verify': receiptVerify,
  'secrets reseal': secretsReseal,
};

/** `warden <command>`: each opens the database of DATABASE_URL (migrating it), runs, and closes. */
async function run(argv: string[]): Promise<number> {
  const name = Object.keys(COMMANDS).find((n) => n.split(' ').every((word, i) => argv[i] === word));
  const command = name ? COMMANDS[name] : undefined;
  if (!name || !command) {
    process.stderr.write(`${USAGE}\n`);
    return 64;
  }
  const ctx = await openCommandContext();
  try {
    return await command(ctx, argv.slice(name.split(' ').length));
  } finally {
    await ctx.db.close();
  }
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
