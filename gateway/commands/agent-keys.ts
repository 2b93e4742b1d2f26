import { type Command, Option } from 'commander';
import { callApi, type RemoteOptions, remote, seg } from './api.ts';
import { fields, line, paint, printJson, statusCell, table } from './output.ts';

interface KeyView {
  id: string;
  agentId: string;
  scopes: string[];
  policy: string | null;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

/**
 * `warden agent-key …` (formerly `key`, still an alias): agent keys of the token's workspace
 * (DESIGN §5: `/v1/keys`). Not the receipt signing keys, which are `signing-key`.
 */
export function registerKeyCommands(program: Command): void {
  const group = program
    .command('agent-key')
    .alias('key')
    .description('create, list and revoke agent keys (member token)');

  remote(group.command('create'))
    .description('create an agent key; prints the key once')
    .argument('<agentId>', 'the agent this key speaks for')
    .addOption(
      new Option('--scope <scope...>', 'what the key may do (default: all)').choices([
        'discover',
        'query',
        'execute',
      ]),
    )
    .option('--policy <name>', 'bind the key to this policy instead of default')
    .action(async (agentId: string, opts: RemoteOptions & { scope?: string[]; policy?: string }) => {
      const body = await callApi<KeyView & { key: string }>(opts, 'POST', '/v1/keys', {
        agentId,
        scopes: opts.scope,
        policy: opts.policy,
      });
      if (opts.json) return printJson(body);
      fields([
        ['key id', body.id],
        ['agent', body.agentId],
        ['scopes', body.scopes.join(',')],
        ['policy', body.policy ?? 'default'],
        ['key', body.key],
      ]);
      line(paint('dim', 'The key is shown once: only its hash is stored.'));
    });

  remote(group.command('list'))
    .description("list the workspace's agent keys, revoked ones included")
    .action(async (opts: RemoteOptions) => {
      const body = await callApi<{ keys: KeyView[] }>(opts, 'GET', '/v1/keys');
      if (opts.json) return printJson(body);
      table(
        body.keys,
        [
          { header: 'ID', value: (k) => k.id },
          { header: 'AGENT', value: (k) => k.agentId },
          { header: 'PREFIX', value: (k) => k.prefix },
          { header: 'SCOPES', value: (k) => k.scopes.join(',') },
          { header: 'POLICY', value: (k) => k.policy },
          { header: 'STATUS', value: (k) => (k.revokedAt ? 'revoked' : 'active'), colour: statusCell },
          { header: 'CREATED', value: (k) => k.createdAt },
        ],
        'No agent keys.',
      );
    });

  remote(group.command('revoke'))
    .description('revoke an agent key: refused from its next request')
    .argument('<id>', 'key id')
    .action(async (id: string, opts: RemoteOptions) => {
      await callApi(opts, 'DELETE', `/v1/keys/${seg(id)}`);
      // 204 answers no body: scripts get a small one saying what happened.
      if (opts.json) return printJson({ id, revoked: true });
      line(`Key ${id} revoked.`);
    });
}
