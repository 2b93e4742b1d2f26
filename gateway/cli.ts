import { Command, CommanderError } from 'commander';
import { registerKeyCommands } from './commands/agent-keys.ts';
import { CliError, EXIT } from './commands/api.ts';
import { registerApprovalCommands } from './commands/approvals.ts';
import { registerBusinessCommands } from './commands/business.ts';
import { registerExportCommands } from './commands/export.ts';
import { registerLocalCommands } from './commands/local.ts';
import { registerMcpStdioCommand } from './commands/mcp-stdio.ts';
import { registerMemberCommands } from './commands/member.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerTransactionCommands } from './commands/transactions.ts';
import { registerWorkspaceCommands } from './commands/workspace.ts';

const EPILOG = `
Remote commands talk to a running gateway: --url (or WARDEN_URL, default http://localhost:8080) and
--token (or WARDEN_TOKEN): the operator token WARDEN_ADMIN_TOKEN for workspace and business, a member
token for the rest. They print tables; --json prints the gateway's JSON answer.

Exit codes:
  0  ok
  1  refused by the gateway (validation, conflict: other 4xx), or a local check failed
  2  usage: the command line is wrong
  3  auth: no token, a wrong one, or a role that may not (401, 403)
  4  not found (404)
  5  server error (5xx) or the gateway cannot be reached
  78 configuration: a bad environment variable (local commands)`;

/** The `warden` program: each command group lives in gateway/commands/<group>.ts. */
export function buildProgram(): Command {
  // Settings first: subcommands made with .command() inherit them.
  const program = new Command('warden')
    .description('Warden: the gateway between AI agents and the businesses they act on.')
    .exitOverride()
    // Usage errors read like every other failure: `warden: <what is wrong>`.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'warden: ')) })
    .showHelpAfterError()
    .addHelpText('after', EPILOG)
    .hook('preSubcommand', (command, sub) => renamed(command.args[0], sub.name()));
  registerWorkspaceCommands(program);
  registerBusinessCommands(program);
  registerKeyCommands(program);
  registerMemberCommands(program);
  registerPolicyCommands(program);
  registerApprovalCommands(program);
  registerTransactionCommands(program);
  registerExportCommands(program);
  registerLocalCommands(program);
  registerMcpStdioCommand(program);
  return program;
}

/**
 * The names `key` (agent keys) and `keys` (receipt signing keys) were one letter apart: they are
 * `agent-key` and `signing-key` now. The old ones still work, with one line on stderr (stdout stays
 * what scripts parse).
 */
function renamed(typed: string | undefined, name: string): void {
  if (typed && typed !== name && (typed === 'key' || typed === 'keys')) {
    process.stderr.write(`warden: "${typed}" is now "${name}"; the old name still works for now.\n`);
  }
}

/** The exit code for what an action threw; expected failures are one line on stderr, no stack. */
function fail(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed the usage error (or the help asked for) already.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof CliError) {
    process.stderr.write(`warden: ${error.message} (${error.code})\n`);
    return error.exitCode;
  }
  // By name, not instanceof: importing config/ (zod) would slow every remote command's start.
  if (error instanceof Error && error.name === 'ConfigError') {
    process.stderr.write(`warden: ${error.message}\n`);
    return 78; // EX_CONFIG
  }
  // A stored secret that does not open (wrong SECRETS_KEY), a refused local change: expected, named.
  if (error instanceof Error && (error.name === 'SealedValueError' || error.name === 'GatewayError')) {
    process.stderr.write(`warden: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`warden: ${error instanceof Error ? error.stack : String(error)}\n`);
  return 1;
}

buildProgram()
  .parseAsync(process.argv)
  // No process.exit: what was written to a piped stdout is still flushed. `start` keeps running.
  .catch((error: unknown) => {
    process.exitCode = fail(error);
  });
