import { Argument, type Command, Option } from 'commander';
import { callApi, type RemoteOptions, remote, seg } from './api.ts';
import { line, printJson, table } from './output.ts';

const ROLES = ['admin', 'developer', 'approver'];

interface MemberView {
  id: string;
  email: string;
  role: string;
  createdAt?: string | null;
}

interface InviteView {
  id?: string;
  email?: string;
  role?: string;
  expiresAt?: string | null;
}

const role = () => new Option('--role <role>', 'workspace role').choices(ROLES);

/** `warden member …`: people in the token's workspace (issue 11: `/v1/members`, `/v1/invites`). */
export function registerMemberCommands(program: Command): void {
  const group = program
    .command('member')
    .description('invite, list, change the role of and remove members (admin member token)');

  remote(group.command('invite'))
    .description('email someone a one-time link (24 h) through which they take their token')
    .argument('<email>', 'their email address')
    .addOption(role().makeOptionMandatory())
    .action(async (email: string, opts: RemoteOptions & { role: string }) => {
      const body = await callApi<{ invite?: InviteView } & InviteView>(opts, 'POST', '/v1/invites', {
        email,
        role: opts.role,
      });
      if (opts.json) return printJson(body);
      const invite = body?.invite ?? body ?? {};
      const expires = invite.expiresAt ? `; the link expires at ${invite.expiresAt}` : '';
      line(`Invitation sent to ${invite.email ?? email} as ${invite.role ?? opts.role}${expires}.`);
    });

  remote(group.command('list'))
    .description("list the workspace's members")
    .action(async (opts: RemoteOptions) => {
      const body = await callApi<{ members: MemberView[] }>(opts, 'GET', '/v1/members');
      if (opts.json) return printJson(body);
      table(
        body.members ?? [],
        [
          { header: 'ID', value: (m) => m.id },
          { header: 'EMAIL', value: (m) => m.email },
          { header: 'ROLE', value: (m) => m.role },
          { header: 'CREATED', value: (m) => m.createdAt },
        ],
        'No members.',
      );
    });

  remote(group.command('role'))
    .description("change a member's role (the last admin cannot be demoted)")
    .argument('<id>', 'member id')
    .addArgument(new Argument('<role>', 'the new role').choices(ROLES))
    .action(async (id: string, newRole: string, opts: RemoteOptions) => {
      const body = await callApi<{ member?: MemberView } & Partial<MemberView>>(
        opts,
        'PATCH',
        `/v1/members/${seg(id)}`,
        { role: newRole },
      );
      if (opts.json) return printJson(body);
      const member = body?.member ?? body ?? {};
      line(`Member ${member.email ?? id} is now ${member.role ?? newRole}.`);
    });

  remote(group.command('remove'))
    .description('remove a member: their token is refused at once (the last admin cannot be removed)')
    .argument('<id>', 'member id')
    .action(async (id: string, opts: RemoteOptions) => {
      const body = await callApi(opts, 'DELETE', `/v1/members/${seg(id)}`);
      if (opts.json) return printJson(body ?? { id, removed: true });
      line(`Member ${id} removed.`);
    });
}
