import { ROLES } from '../../domain/index.ts';
import { slackBody, slackLinkBody, teamsBody } from '../../routes/channels.ts';
import {
  connectSlack,
  connectTeams,
  disconnectChannel,
  linkMySlackUser,
  listConnections,
  mySlackUser,
} from '../../services/channels/index.ts';
import { definePage, field, type PageContext, type Tone } from '../page.ts';
import { CsrfField } from '../views/layout.tsx';

/**
 * /console/integrations (issue 23): where approvals reach people besides email. Every member links
 * their own Slack user here (when their Slack email is not the one Warden knows them by); admins
 * connect the workspace's Slack app and Teams webhook. Same services as /v1/channels.
 */

async function renderIntegrations(
  p: PageContext,
  state: { notice?: { tone: Tone; text: string }; status?: 200 | 422 } = {},
): Promise<Response> {
  const isAdmin = p.session.member.role === 'admin';
  const [mine, connections] = await Promise.all([
    mySlackUser({ ctx: p.ctx }),
    isAdmin ? listConnections({ ctx: p.ctx }) : Promise.resolve([]),
  ]);
  const slack = connections.find((c) => c.kind === 'slack');
  const teams = connections.find((c) => c.kind === 'teams');
  return p.render({
    title: 'Integrations',
    status: state.status,
    notice: state.notice,
    body: (
      <>
        <h1>Integrations</h1>
        <section class="card" aria-labelledby="my-slack-h">
          <h2 id="my-slack-h">Your Slack user</h2>
          <p>
            Approve and Reject in Slack act as you when Slack confirms your Slack account’s email is the one
            you sign in with, or when you link your Slack user here (Slack: your profile, ⋮, Copy member ID).
          </p>
          <p id="my-slack-user">{mine ? `Linked: ${mine}` : 'Not linked.'}</p>
          <form method="post" action="/console/integrations/slack-link">
            <CsrfField value={p.csrf} />
            <label for="slack-user">Slack member ID</label>
            <input
              id="slack-user"
              name="slackUserId"
              required
              pattern="[UW][A-Z0-9]{2,30}"
              value={mine ?? ''}
            />
            <div class="actions">
              <button type="submit">Link</button>
            </div>
          </form>
        </section>
        {isAdmin ? (
          <>
            <section class="card" aria-labelledby="slack-h">
              <h2 id="slack-h">Slack</h2>
              {slack ? (
                <dl class="facts">
                  <dt>Interactivity Request URL</dt>
                  <dd>
                    <code>{slack.interactionsUrl}</code>
                  </dd>
                  <dt>Routes</dt>
                  <dd>
                    {Object.entries(slack.routes ?? {})
                      .map(([role, to]) => `${role} → ${to === 'dm' ? 'direct messages' : to}`)
                      .join(', ')}
                  </dd>
                </dl>
              ) : (
                <p>Not connected.</p>
              )}
              <form method="post" action="/console/integrations/slack">
                <CsrfField value={p.csrf} />
                <label for="bot-token">Bot token (xoxb-…)</label>
                <input id="bot-token" name="botToken" type="password" required autocomplete="off" />
                <label for="signing-secret">Signing secret</label>
                <input id="signing-secret" name="signingSecret" type="password" required autocomplete="off" />
                {ROLES.map((role) => (
                  <>
                    <label for={`route-${role}`}>Stages for {role}: a channel ID (C…), “dm”, or empty</label>
                    <input id={`route-${role}`} name={`route_${role}`} value={slack?.routes?.[role] ?? ''} />
                  </>
                ))}
                <div class="actions">
                  <button type="submit">{slack ? 'Replace the Slack connection' : 'Connect Slack'}</button>
                </div>
              </form>
            </section>
            <section class="card" aria-labelledby="teams-h">
              <h2 id="teams-h">Microsoft Teams</h2>
              <p>
                {teams ? 'Connected.' : 'Not connected.'} Teams cards link to this console: a Teams webhook
                cannot carry a signed decision back.
              </p>
              <form method="post" action="/console/integrations/teams">
                <CsrfField value={p.csrf} />
                <label for="teams-url">Workflows webhook URL</label>
                <input
                  id="teams-url"
                  name="webhookUrl"
                  type="url"
                  required
                  maxlength={2048}
                  autocomplete="off"
                />
                <div class="actions">
                  <button type="submit">{teams ? 'Replace the Teams webhook' : 'Connect Teams'}</button>
                </div>
              </form>
            </section>
            {connections.map((c) => (
              <form method="post" action="/console/integrations/disconnect" class="actions">
                <CsrfField value={p.csrf} />
                <input type="hidden" name="kind" value={c.kind} />
                <button type="submit" class="secondary">
                  Disconnect {c.kind === 'slack' ? 'Slack' : 'Teams'}
                </button>
              </form>
            ))}
          </>
        ) : null}
      </>
    ),
  });
}

const refused = (p: PageContext, text: string) =>
  renderIntegrations(p, { status: 422, notice: { tone: 'error', text } });

export default definePage({
  path: '/console/integrations',
  summary: 'Your Slack user; the workspace’s Slack and Teams connections (admins)',
  nav: { label: 'Integrations', order: 65 },
  async get(p) {
    return renderIntegrations(p);
  },
  actions: [
    {
      path: '/console/integrations/slack-link',
      summary: 'Link your own Slack user (its member ID)',
      async handle(p, form) {
        const parsed = slackLinkBody.safeParse({ slackUserId: field(form, 'slackUserId').trim() });
        if (!parsed.success) return refused(p, 'Not linked: a Slack member ID looks like U0123ABCD.');
        await linkMySlackUser({ ctx: p.ctx, input: parsed.data });
        return renderIntegrations(p, {
          notice: { tone: 'ok', text: `Linked your Slack user ${parsed.data.slackUserId}.` },
        });
      },
    },
    {
      path: '/console/integrations/slack',
      summary: 'Connect the Slack app (bot token and signing secret, sealed) and route stage roles',
      roles: ['admin'],
      async handle(p, form) {
        const routes = Object.fromEntries(
          ROLES.map((r) => [r, field(form, `route_${r}`).trim()]).filter(([, v]) => v !== ''),
        );
        const parsed = slackBody.safeParse({
          botToken: field(form, 'botToken').trim(),
          signingSecret: field(form, 'signingSecret').trim(),
          routes,
        });
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          return refused(
            p,
            `Not connected: ${issue?.path.join('.') || 'form'}: ${issue?.message ?? 'invalid'}.`,
          );
        }
        await connectSlack({ ctx: p.ctx, input: parsed.data });
        return renderIntegrations(p, { notice: { tone: 'ok', text: 'Slack connected.' } });
      },
    },
    {
      path: '/console/integrations/teams',
      summary: 'Connect a Teams Workflows webhook (sealed)',
      roles: ['admin'],
      async handle(p, form) {
        const parsed = teamsBody.safeParse({ webhookUrl: field(form, 'webhookUrl').trim() });
        if (!parsed.success) return refused(p, 'Not connected: enter the webhook URL.');
        try {
          await connectTeams({ ctx: p.ctx, input: parsed.data });
        } catch (error) {
          return refused(p, (error as Error).message);
        }
        return renderIntegrations(p, { notice: { tone: 'ok', text: 'Teams connected.' } });
      },
    },
    {
      path: '/console/integrations/disconnect',
      summary: 'Disconnect Slack or Teams',
      roles: ['admin'],
      async handle(p, form) {
        const kind = field(form, 'kind');
        if (kind !== 'slack' && kind !== 'teams') return refused(p, 'Nothing to disconnect.');
        await disconnectChannel({ ctx: p.ctx, input: { kind } });
        return renderIntegrations(p, { notice: { tone: 'ok', text: 'Disconnected.' } });
      },
    },
  ],
});
