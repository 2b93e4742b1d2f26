import { type Command, Option } from 'commander';
import { type RemoteOptions, remoteUrlOption } from './api.ts';
import type { CommandContext } from './context.ts';

/**
 * Opens the database of DATABASE_URL (migrating it), runs `command`, closes it, and sets the exit
 * code it returns. Modules are loaded here, not at the top: a remote command or `--help` never pays
 * for the database drivers.
 */
async function local(command: (ctx: CommandContext) => Promise<number>): Promise<void> {
  const { openCommandContext } = await import('./context.ts');
  const ctx = await openCommandContext();
  try {
    process.exitCode = await command(ctx);
  } finally {
    await ctx.db.close();
  }
}

/** The verify commands: this host's database, or with `--url` a gateway from anywhere. */
interface VerifyOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

const tokenOption = () =>
  new Option('--token <token>', 'with --url: a member token of the workspace').env('WARDEN_TOKEN');

/** The commands that work on this host's database and environment, not through a gateway. */
export function registerLocalCommands(program: Command): void {
  program
    .command('start')
    .description('run the gateway in this process, like `npm start` (configured by the environment)')
    .action(async () => {
      // main.ts starts on import and keeps the process alive until SIGTERM or SIGINT.
      await import('../main.ts');
    });

  program
    .command('migrate')
    .description('apply the database migrations of DATABASE_URL (they also run at start)')
    .action(async () => {
      const { migrate } = await import('./migrate.ts');
      await local(migrate);
    });

  program
    .command('signing-key')
    .alias('keys')
    .description(
      'the keys that sign receipts, checkpoints and forwarded requests (not agent keys: see agent-key)',
    )
    .command('rotate')
    .description('make a new receipt signing key current; the old one stays published')
    .option(
      '--forward',
      'rotate the key that signs forwarded requests (RFC 9421) instead; the old one stays in the directory for FORWARD_SIGNING_KEY_OVERLAP_SECONDS',
    )
    .action(async (opts: { forward?: boolean }) => {
      const { keysRotate } = await import('./keys.ts');
      await local((ctx) => keysRotate(ctx, opts));
    });

  program
    .command('audit')
    .description('the audit trail')
    .command('verify')
    .description(
      'recompute the audit hash chains of this database, or with --url ask a gateway to verify its chain; exits 1 when one is broken',
    )
    .option('--workspace <id>', 'only this workspace’s chain')
    .addOption(remoteUrlOption())
    .addOption(tokenOption())
    .option('--json', 'print {valid, checked, firstBrokenId} as JSON')
    .action(async (opts: VerifyOptions & { workspace?: string }) => {
      const { auditVerify, auditVerifyRemote } = await import('./audit.ts');
      if (opts.url) process.exitCode = await auditVerifyRemote(opts as RemoteOptions);
      else await local((ctx) => auditVerify(ctx, opts));
    });

  program
    .command('receipt')
    .description('receipts')
    .command('verify')
    .description(
      "check a receipt's signature, that it names the transaction asked about, and its inclusion in the ledger log under a checkpoint; exits 1 when any fails",
    )
    .argument(
      '<target>',
      'a file (the compact JWS, or the JSON of GET /agp/receipts/:id) or a transaction id',
    )
    .option('--jwks <source>', 'verify against this JWK Set (URL or file) instead of the database’s keys')
    .option('--transaction <id>', 'the transaction the receipt in the file must be the receipt of')
    .option(
      '--checkpoint <file>',
      'check inclusion under this checkpoint (its compact JWS, or the JSON of GET /v1/ledger/checkpoint) instead of the newest',
    )
    .addOption(remoteUrlOption())
    .addOption(tokenOption())
    .option('--json', 'print {valid, signature, names, log} as JSON')
    .action(
      async (
        target: string,
        opts: VerifyOptions & { jwks?: string; transaction?: string; checkpoint?: string },
      ) => {
        const { receiptVerify, receiptVerifyRemote, refuseRemoteCheckpoint } = await import('./receipt.ts');
        if (!opts.url) return local((ctx) => receiptVerify(ctx, target, opts));
        if (opts.checkpoint !== undefined) refuseRemoteCheckpoint();
        process.exitCode = await receiptVerifyRemote(target, opts as RemoteOptions & { jwks?: string });
      },
    );

  program
    .command('secrets')
    .description('secrets sealed at rest')
    .command('reseal')
    .description('seal every stored secret under the current SECRETS_KEY')
    .action(async () => {
      const { secretsReseal } = await import('./secrets.ts');
      await local(secretsReseal);
    });
}
