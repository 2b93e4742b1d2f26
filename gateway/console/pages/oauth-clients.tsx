import { listAuthorizedClients, revokeAuthorizedClient } from '../../services/oauth/index.ts';
import { definePage, field, type PageContext } from '../page.ts';
import { CsrfField } from '../views/layout.tsx';

/**
 * /console/oauth/clients (issue 22): the OAuth clients the signed-in member authorised, the agent
 * each acts as, and a button that disconnects one: its grant and every token end at once, so its
 * next call is refused with 401.
 */

const when = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());

async function renderClients(p: PageContext, notice?: string): Promise<Response> {
  const clients = await listAuthorizedClients({ ctx: p.ctx });
  return p.render({
    title: 'Connected apps',
    notice: notice ? { tone: 'ok', text: notice } : undefined,
    body: (
      <>
        <h1>Connected apps</h1>
        <p class="muted">
          Applications you authorised with OAuth to act as one of this workspace's agents (MCP clients, for
          instance).
        </p>
        <div class="table-wrap">
          <table class="stack" id="oauth-clients">
            <caption>{clients.length === 1 ? '1 application' : `${clients.length} applications`}</caption>
            <thead>
              <tr>
                <th scope="col">Application</th>
                <th scope="col">Acts as</th>
                <th scope="col">Scopes</th>
                <th scope="col">Resource</th>
                <th scope="col">Authorised</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {clients.map((client) => (
                <tr>
                  <td data-label="Application">
                    {client.clientName ?? ''} <code>{client.clientId}</code>
                  </td>
                  <td data-label="Acts as">{client.agentId}</td>
                  <td data-label="Scopes">{client.scopes.join(', ')}</td>
                  <td data-label="Resource">
                    <code>{client.resource}</code>
                  </td>
                  <td data-label="Authorised">{when(client.createdAt)}</td>
                  <td data-label="Action">
                    <form method="post" action="/console/oauth/clients/revoke" class="inline-form">
                      <CsrfField value={p.csrf} />
                      <input type="hidden" name="id" value={client.id} />
                      <button
                        type="submit"
                        class="secondary small"
                        aria-label={`Disconnect ${client.clientName ?? client.clientId}`}
                      >
                        Disconnect
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </>
    ),
  });
}

export default definePage({
  path: '/console/oauth/clients',
  summary: 'The OAuth clients the member authorised; disconnect one',
  nav: { label: 'Connected apps', order: 45 },
  async get(p) {
    return renderClients(
      p,
      p.c.req.query('revoked') ? 'Disconnected: its tokens are refused from now on.' : undefined,
    );
  },
  actions: [
    {
      path: '/console/oauth/clients/revoke',
      summary: 'Disconnect an authorised client: its grant and tokens end at once',
      async handle(p, form) {
        await revokeAuthorizedClient({ ctx: p.ctx, input: { id: field(form, 'id') } });
        return p.redirect('/console/oauth/clients?revoked=1');
      },
    },
  ],
});
