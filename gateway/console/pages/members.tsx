import { GatewayError, type Role } from '../../domain/index.ts';
import { createInviteBody } from '../../routes/invites.ts';
import {
  changeMemberRole,
  createInvite,
  listInvites,
  listMembers,
  removeMember,
  revokeInvite,
} from '../../services/tenancy/index.ts';
import { ASSETS, assetUrl } from '../assets/index.ts';
import { definePage, field, type PageContext, type Tone } from '../page.ts';
import { CsrfField } from '../views/layout.tsx';
import { Time } from '../views/time.tsx';

/**
 * /console/members (issue 14, item 5): members with their roles (change, remove), invitations by
 * email (the link goes by email only, as with POST /v1/invites), open invitations (withdraw).
 * Same services as /v1/members and /v1/invites; admins only, as there.
 */

const ROLES: readonly Role[] = ['admin', 'developer', 'approver'];

const NOTICES: Record<string, string> = {
  invited: 'Invitation sent: the link is in the email, valid 24 hours.',
  'invite-revoked': 'Invitation withdrawn: its link no longer works.',
  role: 'Role changed.',
  removed: 'Member removed: their token is refused from now on.',
};

async function renderMembers(
  p: PageContext,
  state: { notice?: { tone: Tone; text: string }; status?: 200 | 422; email?: string } = {},
): Promise<Response> {
  const [members, invites] = await Promise.all([listMembers({ ctx: p.ctx }), listInvites({ ctx: p.ctx })]);
  const me = p.session.member.memberId;
  return p.render({
    title: 'Members',
    status: state.status,
    notice: state.notice,
    body: (
      <>
        <h1>Members</h1>
        <script src={assetUrl(ASSETS.pending)} defer />
        <div class="table-wrap">
          <table class="stack" id="members">
            <caption>{members.length === 1 ? '1 member' : `${members.length} members`}</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                <th scope="col">Remove</th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr>
                  <td data-label="Email">
                    {m.email}
                    {m.id === me ? ' (you)' : ''}
                  </td>
                  <td data-label="Role">
                    <form method="post" action="/console/members/role" class="inline-form">
                      <CsrfField value={p.csrf} />
                      <input type="hidden" name="id" value={m.id} />
                      <label class="sr-only" for={`role-${m.id}`}>
                        Role of {m.email}
                      </label>
                      <select id={`role-${m.id}`} name="role">
                        {ROLES.map((r) => (
                          <option value={r} selected={r === m.role}>
                            {r}
                          </option>
                        ))}
                      </select>
                      <button
                        type="submit"
                        class="secondary small"
                        aria-label={`Change the role of ${m.email}`}
                      >
                        Change
                      </button>
                    </form>
                  </td>
                  <td data-label="Joined">
                    <Time at={m.createdAt} />
                  </td>
                  <td data-label="Remove">
                    <form method="post" action="/console/members/remove" class="inline-form">
                      <CsrfField value={p.csrf} />
                      <input type="hidden" name="id" value={m.id} />
                      <button type="submit" class="secondary small" aria-label={`Remove ${m.email}`}>
                        Remove…
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>

        <section class="card" aria-labelledby="invite-h">
          <h2 id="invite-h">Invite someone</h2>
          <form method="post" action="/console/members/invite">
            <CsrfField value={p.csrf} />
            <label for="invite-email">Email</label>
            <input
              id="invite-email"
              name="email"
              type="email"
              required
              autocomplete="off"
              value={state.email ?? ''}
            />
            <label for="invite-role">Role</label>
            <select id="invite-role" name="role">
              {ROLES.map((r) => (
                <option value={r} selected={r === 'approver'}>
                  {r}
                </option>
              ))}
            </select>
            <div class="actions">
              <button type="submit">Send invitation</button>
            </div>
          </form>
        </section>

        <section class="card" aria-labelledby="invites-h">
          <h2 id="invites-h">Open invitations</h2>
          {invites.length === 0 ? (
            <p id="invites">None.</p>
          ) : (
            <div class="table-wrap">
              <table class="stack" id="invites">
                <thead>
                  <tr>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Sent</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Withdraw</th>
                  </tr>
                </thead>
                <tbody>
                  {invites.map((i) => (
                    <tr>
                      <td data-label="Email">{i.email}</td>
                      <td data-label="Role">{i.role}</td>
                      <td data-label="Sent">
                        <Time at={i.createdAt} />
                      </td>
                      <td data-label="Expires">
                        <Time at={i.expiresAt} />
                      </td>
                      <td data-label="Withdraw">
                        <form method="post" action="/console/members/invites/revoke" class="inline-form">
                          <CsrfField value={p.csrf} />
                          <input type="hidden" name="id" value={i.id} />
                          <button
                            type="submit"
                            class="secondary small"
                            aria-label={`Withdraw the invitation of ${i.email}`}
                          >
                            Withdraw
                          </button>
                        </form>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </>
    ),
  });
}

const roleOf = (raw: string): Role => {
  if (!(ROLES as string[]).includes(raw)) throw new GatewayError('VALIDATION_ERROR', 'Choose a role.');
  return raw as Role;
};

export default definePage({
  path: '/console/members',
  summary: 'Members and their roles, invitations by email',
  nav: { label: 'Members', order: 50 },
  roles: ['admin'],
  async get(p) {
    const text = NOTICES[p.c.req.query('done') ?? ''];
    return renderMembers(p, { notice: text ? { tone: 'ok', text } : undefined });
  },
  actions: [
    {
      path: '/console/members/invite',
      summary: 'Invite someone by email with a role',
      async handle(p, form) {
        const email = field(form, 'email').trim();
        const parsed = createInviteBody.safeParse({ email, role: field(form, 'role') });
        if (!parsed.success) {
          return renderMembers(p, {
            status: 422,
            email,
            notice: { tone: 'error', text: 'Not sent: enter an email address and choose a role.' },
          });
        }
        await createInvite({ ctx: p.ctx, input: parsed.data });
        return p.redirect('/console/members?done=invited');
      },
    },
    {
      path: '/console/members/invites/revoke',
      summary: 'Withdraw an open invitation',
      async handle(p, form) {
        await revokeInvite({ ctx: p.ctx, input: { id: field(form, 'id') } });
        return p.redirect('/console/members?done=invite-revoked');
      },
    },
    {
      path: '/console/members/role',
      summary: "Change a member's role (never the last admin's)",
      async handle(p, form) {
        await changeMemberRole({
          ctx: p.ctx,
          input: { id: field(form, 'id'), role: roleOf(field(form, 'role')) },
        });
        return p.redirect('/console/members?done=role');
      },
    },
    {
      path: '/console/members/remove',
      summary: 'Remove a member (asks to confirm first; never the last admin)',
      async handle(p, form) {
        const id = field(form, 'id');
        const member = (await listMembers({ ctx: p.ctx })).find((m) => m.id === id);
        if (!member) throw new GatewayError('NOT_FOUND', 'No member with this id in this workspace.');
        if (field(form, 'confirm') !== 'yes') {
          return p.render({
            title: 'Remove this member?',
            body: (
              <section class="card">
                <h1>Remove {member.email}?</h1>
                <p>
                  Their member token and console sessions stop working from the next request on. To let them
                  back, invite them again.
                </p>
                <form method="post" action="/console/members/remove" class="actions">
                  <CsrfField value={p.csrf} />
                  <input type="hidden" name="id" value={member.id} />
                  <input type="hidden" name="confirm" value="yes" />
                  <button type="submit" class="danger">
                    Remove {member.email}
                  </button>
                  <a class="button secondary" href="/console/members">
                    Cancel
                  </a>
                </form>
              </section>
            ),
          });
        }
        await removeMember({ ctx: p.ctx, input: { id } });
        return p.redirect('/console/members?done=removed');
      },
    },
  ],
});
