import type { Command } from 'commander';
import { callApi, type RemoteOptions, remote, seg } from './api.ts';
import { fields, line, paint, printJson, statusCell, table } from './output.ts';

interface WorkspaceView {
  id: string;
  name: string;
  createdAt?: string | null;
  archivedAt?: string | null;
}

/** A workspace in a body: `{workspace}` or the workspace itself. */
const workspaceOf = (body: unknown): Partial<WorkspaceView> =>
  ((body as { workspace?: WorkspaceView })?.workspace ?? body ?? {}) as Partial<WorkspaceView>;

/** `warden workspace …`: the operator's workspaces (DESIGN §5, issue 11), with WARDEN_ADMIN_TOKEN. */
export function registerWorkspaceCommands(program: Command): void {
  const group = program
    .command('workspace')
    .description('create, list, archive, restore and delete workspaces (operator token)');

  remote(group.command('create'))
    .description('create a workspace and its first admin; prints the admin token once')
    .argument('<name>', 'workspace name')
    .requiredOption('--admin-email <email>', "the first admin's email")
    .action(async (name: string, opts: RemoteOptions & { adminEmail: string }) => {
      const body = await callApi<{ workspace: WorkspaceView; adminToken: string }>(
        opts,
        'POST',
        '/v1/admin/workspaces',
        { name, adminEmail: opts.adminEmail },
      );
      if (opts.json) return printJson(body);
      fields([
        ['workspace', body.workspace.id],
        ['name', body.workspace.name],
        ['admin token', body.adminToken],
      ]);
      line(paint('dim', 'The admin token is shown once: keep it now.'));
    });

  remote(group.command('list'))
    .description('list every workspace, archived ones included')
    .action(async (opts: RemoteOptions) => {
      const body = await callApi<{ workspaces: WorkspaceView[] }>(opts, 'GET', '/v1/admin/workspaces');
      if (opts.json) return printJson(body);
      table(
        body.workspaces ?? [],
        [
          { header: 'ID', value: (w) => w.id },
          { header: 'NAME', value: (w) => w.name },
          { header: 'STATUS', value: (w) => (w.archivedAt ? 'archived' : 'active'), colour: statusCell },
          { header: 'CREATED', value: (w) => w.createdAt },
          { header: 'ARCHIVED', value: (w) => w.archivedAt },
        ],
        'No workspaces.',
      );
    });

  for (const [verb, done, help] of [
    ['archive', 'archived', 'archive a workspace: its keys and member tokens are refused, its data kept'],
    ['restore', 'restored', 'restore an archived workspace'],
  ] as const) {
    remote(group.command(verb))
      .description(help)
      .argument('<id>', 'workspace id (ws_…)')
      .action(async (id: string, opts: RemoteOptions) => {
        const body = await callApi(opts, 'POST', `/v1/admin/workspaces/${seg(id)}/${verb}`);
        if (opts.json) return printJson(body ?? { id, [done]: true });
        const workspace = workspaceOf(body);
        line(`Workspace ${workspace.id ?? id}${workspace.name ? ` (${workspace.name})` : ''} ${done}.`);
      });
  }

  remote(group.command('delete'))
    .description('delete an archived workspace and everything it owns')
    .argument('<id>', 'workspace id (ws_…)')
    .requiredOption('--confirm <name>', "the workspace's name, typed out to confirm")
    .action(async (id: string, opts: RemoteOptions & { confirm: string }) => {
      const body = await callApi(opts, 'DELETE', `/v1/admin/workspaces/${seg(id)}`, {
        confirm: opts.confirm,
      });
      if (opts.json) return printJson(body ?? { id, deleted: true });
      line(`Workspace ${id} deleted.`);
    });
}
