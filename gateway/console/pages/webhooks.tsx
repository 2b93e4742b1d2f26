import { GatewayError } from '../../domain/index.ts';
import { createWebhookBody } from '../../routes/webhooks.ts';
import {
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  WEBHOOK_EVENTS,
} from '../../services/notifications/index.ts';
import { ASSETS, assetUrl } from '../assets/index.ts';
import { definePage, field, type PageContext, type Tone } from '../page.ts';
import { CsrfField } from '../views/layout.tsx';
import { Time } from '../views/time.tsx';

/**
 * /console/webhooks (issue 14, item 5): subscriptions (create, shown with their signing secret
 * once; delete after a confirmation) and each one's recent deliveries with status and attempts.
 * Same services as /v1/webhooks; admins only (the API lets only admins change them).
 */

const RECENT = 10;

const TONE_CLASS: Record<string, string> = { delivered: 'good', pending: 'wait', failed: 'bad' };

async function renderWebhooks(
  p: PageContext,
  state: {
    created?: { id: string; url: string; secret: string };
    notice?: { tone: Tone; text: string };
    status?: 200 | 422;
    url?: string;
  } = {},
): Promise<Response> {
  const hooks = await listWebhooks({ ctx: p.ctx });
  const deliveries = await Promise.all(
    hooks.map((h) => listDeliveries({ ctx: p.ctx, input: { id: h.id, limit: RECENT } })),
  );
  return p.render({
    title: 'Webhooks',
    status: state.status,
    notice: state.notice,
    body: (
      <>
        <h1>Webhooks</h1>
        <script src={assetUrl(ASSETS.pending)} defer />
        {state.created ? (
          <section class="secret" aria-labelledby="new-secret-h" id="new-webhook">
            <h2 id="new-secret-h">Signing secret of {state.created.url}</h2>
            <p>
              Copy it now: it is shown this once. Deliveries are signed with it (Standard Webhooks headers).
            </p>
            <code id="new-webhook-secret">{state.created.secret}</code>
          </section>
        ) : null}
        <section class="card" aria-labelledby="create-h">
          <h2 id="create-h">Add a webhook</h2>
          <form method="post" action="/console/webhooks/create">
            <CsrfField value={p.csrf} />
            <label for="hook-url">URL (https)</label>
            <input id="hook-url" name="url" type="url" required maxlength={2048} value={state.url ?? ''} />
            <fieldset>
              <legend>Events</legend>
              {WEBHOOK_EVENTS.map((event) => (
                <label>
                  <input type="checkbox" name={`event_${event}`} value="on" checked /> {event}
                </label>
              ))}
            </fieldset>
            <div class="actions">
              <button type="submit">Add webhook</button>
            </div>
          </form>
        </section>
        {hooks.length === 0 ? <p id="webhooks">No webhooks yet.</p> : null}
        {hooks.map((h, i) => (
          <section class="card webhook" aria-labelledby={`hook-${h.id}`}>
            <h2 id={`hook-${h.id}`}>
              <code>{h.url}</code>
            </h2>
            <dl class="facts">
              <dt>Id</dt>
              <dd>{h.id}</dd>
              <dt>Events</dt>
              <dd>{h.events.join(', ')}</dd>
              <dt>Added</dt>
              <dd>
                <Time at={h.createdAt} />
              </dd>
            </dl>
            <h3>Recent deliveries</h3>
            {(deliveries[i] ?? []).length === 0 ? (
              <p class="muted">None yet.</p>
            ) : (
              <div class="table-wrap">
                <table class="stack">
                  <caption class="sr-only">Recent deliveries to {h.url}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Event</th>
                      <th scope="col">Status</th>
                      <th scope="col" class="num">
                        Attempts
                      </th>
                      <th scope="col">Last error</th>
                      <th scope="col">Next attempt</th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(deliveries[i] ?? []).map((d) => (
                      <tr>
                        <td data-label="Event">{d.event ?? '—'}</td>
                        <td data-label="Status">
                          <span class={`badge ${TONE_CLASS[d.status] ?? 'plain'}`}>{d.status}</span>
                        </td>
                        <td data-label="Attempts" class="num">
                          {d.attempts}
                        </td>
                        <td data-label="Last error">{d.lastError ?? ''}</td>
                        <td data-label="Next attempt">
                          <Time at={d.nextAttemptAt} none="" />
                        </td>
                        <td data-label="Created">
                          <Time at={d.createdAt} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <form method="post" action="/console/webhooks/delete" class="actions">
              <CsrfField value={p.csrf} />
              <input type="hidden" name="id" value={h.id} />
              <button type="submit" class="secondary" aria-label={`Delete the webhook to ${h.url}`}>
                Delete…
              </button>
            </form>
          </section>
        ))}
      </>
    ),
  });
}

export default definePage({
  path: '/console/webhooks',
  summary: "The workspace's webhooks and their recent deliveries",
  nav: { label: 'Webhooks', order: 60 },
  roles: ['admin'],
  async get(p) {
    const deleted = p.c.req.query('deleted');
    return renderWebhooks(p, {
      notice: deleted ? { tone: 'ok', text: 'Webhook deleted: nothing more is sent to it.' } : undefined,
    });
  },
  actions: [
    {
      path: '/console/webhooks/create',
      summary: 'Add a webhook; the page that answers shows its signing secret once',
      async handle(p, form) {
        const url = field(form, 'url').trim();
        const events = WEBHOOK_EVENTS.filter((e) => field(form, `event_${e}`) === 'on');
        const parsed = createWebhookBody.safeParse({ url, events });
        if (!parsed.success) {
          const text =
            events.length === 0 ? 'Not added: choose at least one event.' : 'Not added: enter the URL.';
          return renderWebhooks(p, { status: 422, url, notice: { tone: 'error', text } });
        }
        try {
          const hook = await createWebhook({ ctx: p.ctx, input: parsed.data });
          return renderWebhooks(p, {
            created: { id: hook.id, url: hook.url, secret: hook.secret },
            notice: { tone: 'ok', text: `Webhook added: ${hook.url}` },
          });
        } catch (error) {
          if (error instanceof GatewayError && error.code === 'VALIDATION_ERROR') {
            return renderWebhooks(p, { status: 422, url, notice: { tone: 'error', text: error.message } });
          }
          throw error;
        }
      },
    },
    {
      path: '/console/webhooks/delete',
      summary: 'Delete a webhook (asks to confirm first)',
      async handle(p, form) {
        const id = field(form, 'id');
        const hook = (await listWebhooks({ ctx: p.ctx })).find((h) => h.id === id);
        if (!hook) throw new GatewayError('NOT_FOUND', 'No webhook with this id in this workspace.');
        if (field(form, 'confirm') !== 'yes') {
          return p.render({
            title: 'Delete this webhook?',
            body: (
              <section class="card">
                <h1>Delete the webhook to {hook.url}?</h1>
                <p>Nothing more is sent to it; its delivery history stays readable through the API.</p>
                <form method="post" action="/console/webhooks/delete" class="actions">
                  <CsrfField value={p.csrf} />
                  <input type="hidden" name="id" value={hook.id} />
                  <input type="hidden" name="confirm" value="yes" />
                  <button type="submit" class="danger">
                    Delete webhook
                  </button>
                  <a class="button secondary" href="/console/webhooks">
                    Cancel
                  </a>
                </form>
              </section>
            ),
          });
        }
        await deleteWebhook({ ctx: p.ctx, input: { id } });
        return p.redirect('/console/webhooks?deleted=1');
      },
    },
  ],
});
