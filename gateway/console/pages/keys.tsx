import { GatewayError } from '../../domain/index.ts';
import { createKeyBody } from '../../routes/workspace.ts';
import { ALL_SCOPES, createAgentKey, listAgentKeys, revokeAgentKey } from '../../services/tenancy/index.ts';
import { ASSETS, assetUrl } from '../assets/index.ts';
import { definePage, field, type PageContext, type Tone } from '../page.ts';
import { CsrfField } from '../views/layout.tsx';
import { Time } from '../views/time.tsx';

/**
 * /console/keys (issue 14, item 5): the workspace's agent keys; create one (its secret is shown
 * once, on the page that answers the form), revoke one after a confirmation. Same services as
 * /v1/keys, and the same roles (admin and developer).
 */

const ROLES = ['admin', 'developer'] as const;

interface KeysState {
  created?: { key: string; agentId: string; prefix: string };
  notice?: { tone: Tone; text: string };
  status?: 200 | 404 | 422;
  /** Form values to show again after a refusal. */
  agentId?: string;
}

async function renderKeys(p: PageContext, state: KeysState): Promise<Response> {
  const keys = await listAgentKeys({ ctx: p.ctx });
  return p.render({
    title: 'Agent keys',
    status: state.status,
    notice: state.notice,
    body: (
      <>
        <h1>Agent keys</h1>
        <script src={assetUrl(ASSETS.pending)} defer />
        {state.created ? (
          <section class="secret" aria-labelledby="new-key-h" id="new-key">
            <h2 id="new-key-h">New key for {state.created.agentId}</h2>
            <p>Copy it now: it is shown this once and only its hash is kept.</p>
            <code id="new-key-value">{state.created.key}</code>
          </section>
        ) : null}
        <section class="card" aria-labelledby="create-h">
          <h2 id="create-h">Create a key</h2>
          <form method="post" action="/console/keys/create">
            <CsrfField value={p.csrf} />
            <label for="key-agent">Agent id</label>
            <input
              id="key-agent"
              name="agentId"
              required
              maxlength={128}
              autocomplete="off"
              value={state.agentId ?? ''}
              aria-describedby="key-agent-help"
            />
            <p class="muted" id="key-agent-help">
              Names the agent in transactions, limits and analytics (at most 128 characters).
            </p>
            <fieldset>
              <legend>Scopes</legend>
              {ALL_SCOPES.map((scope) => (
                <label>
                  <input type="checkbox" name={`scope_${scope}`} value="on" checked /> {scope}
                </label>
              ))}
            </fieldset>
            <label for="key-policy">Policy (optional; the default policy otherwise)</label>
            <input id="key-policy" name="policy" maxlength={64} autocomplete="off" />
            <div class="actions">
              <button type="submit">Create key</button>
            </div>
          </form>
        </section>
        <div class="table-wrap">
          <table class="stack" id="keys">
            <caption>{keys.length === 1 ? '1 key' : `${keys.length} keys`}</caption>
            <thead>
              <tr>
                <th scope="col">Prefix</th>
                <th scope="col">Agent</th>
                <th scope="col">Scopes</th>
                <th scope="col">Policy</th>
                <th scope="col">Created</th>
                <th scope="col">Revoked</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr>
                  <td data-label="Prefix">
                    <code>{k.prefix}…</code>
                  </td>
                  <td data-label="Agent">{k.agentId}</td>
                  <td data-label="Scopes">{k.scopes.join(', ')}</td>
                  <td data-label="Policy">{k.policy ?? 'default'}</td>
                  <td data-label="Created">
                    <Time at={k.createdAt} />
                  </td>
                  <td data-label="Revoked">
                    <Time at={k.revokedAt} none="no" />
                  </td>
                  <td data-label="Action">
                    {k.revokedAt ? (
                      <span class="muted">revoked</span>
                    ) : (
                      <form method="post" action="/console/keys/revoke" class="inline-form">
                        <CsrfField value={p.csrf} />
                        <input type="hidden" name="id" value={k.id} />
                        <button
                          type="submit"
                          class="secondary small"
                          aria-label={`Revoke key ${k.prefix} of ${k.agentId}`}
                        >
                          Revoke…
                        </button>
                      </form>
                    )}
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
  path: '/console/keys',
  summary: "The workspace's agent keys: create (shown once) and revoke",
  nav: { label: 'Keys', order: 40 },
  roles: ROLES,
  async get(p) {
    const revoked = p.c.req.query('revoked');
    return renderKeys(p, {
      notice: revoked
        ? { tone: 'ok', text: `Key ${revoked.slice(0, 40)} revoked: it is refused from now on.` }
        : undefined,
    });
  },
  actions: [
    {
      path: '/console/keys/create',
      summary: 'Create an agent key; the page that answers shows it once',
      async handle(p, form) {
        const agentId = field(form, 'agentId').trim();
        const policy = field(form, 'policy').trim();
        const scopes = ALL_SCOPES.filter((s) => field(form, `scope_${s}`) === 'on');
        // The API's own body schema: the console accepts what POST /v1/keys accepts.
        const parsed = createKeyBody.safeParse({ agentId, scopes, ...(policy ? { policy } : {}) });
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const text = `Not created: ${issue?.path.join('.') || 'form'}: ${issue?.message ?? 'not valid'}.`;
          return renderKeys(p, { status: 422, agentId, notice: { tone: 'error', text } });
        }
        const key = await createAgentKey({ ctx: p.ctx, input: parsed.data });
        return renderKeys(p, {
          created: { key: key.key, agentId: key.agentId, prefix: key.prefix },
          notice: { tone: 'ok', text: `Key ${key.prefix}… created for ${key.agentId}.` },
        });
      },
    },
    {
      path: '/console/keys/revoke',
      summary: 'Revoke an agent key (asks to confirm first)',
      async handle(p, form) {
        const id = field(form, 'id');
        const key = (await listAgentKeys({ ctx: p.ctx })).find((k) => k.id === id && k.revokedAt === null);
        if (!key) throw new GatewayError('NOT_FOUND', 'No active agent key with this id in this workspace.');
        if (field(form, 'confirm') !== 'yes') {
          return p.render({
            title: 'Revoke this key?',
            body: (
              <section class="card">
                <h1>Revoke key {key.prefix}…?</h1>
                <p>
                  Agent <strong>{key.agentId}</strong> will be refused with this key from the next request on.
                  This cannot be undone; create a new key to let the agent back in.
                </p>
                <form method="post" action="/console/keys/revoke" class="actions">
                  <CsrfField value={p.csrf} />
                  <input type="hidden" name="id" value={key.id} />
                  <input type="hidden" name="confirm" value="yes" />
                  <button type="submit" class="danger">
                    Revoke key {key.prefix}…
                  </button>
                  <a class="button secondary" href="/console/keys">
                    Cancel
                  </a>
                </form>
              </section>
            ),
          });
        }
        await revokeAgentKey({ ctx: p.ctx, input: { id: key.id } });
        return p.redirect(`/console/keys?revoked=${encodeURIComponent(`${key.prefix}…`)}`);
      },
    },
  ],
});
