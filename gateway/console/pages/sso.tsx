import { GatewayError, type Role } from '../../domain/index.ts';
import { ssoBody } from '../../routes/sso.ts';
import { withFields } from '../../routes/validate.ts';
import {
  callbackUrl,
  deleteSsoSettings,
  getSsoSettings,
  putSsoSettings,
  type SsoSettingsView,
} from '../../services/sso/index.ts';
import { definePage, field, type PageContext, type Tone } from '../page.ts';
import { CsrfField } from '../views/layout.tsx';

/**
 * /console/sso (issue 22): the workspace's single sign-on with an OpenID provider: issuer, client,
 * domains, the role mapping from a group claim, just-in-time membership and "require SSO". Same
 * verbs as /v1/sso; admins only.
 */

const ROLES: readonly Role[] = ['admin', 'developer', 'approver'];

/** What the form holds, as typed (kept when the page comes back with an error). */
interface Draft {
  issuer: string;
  clientId: string;
  domains: string;
  scopes: string;
  roleClaim: string;
  mappings: string;
  defaultRole: string;
  jit: boolean;
  required: boolean;
}

const draftOf = (s: SsoSettingsView | null): Draft => ({
  issuer: s?.issuer ?? '',
  clientId: s?.clientId ?? '',
  domains: s?.domains.join(', ') ?? '',
  scopes: (s?.scopes ?? ['openid', 'email', 'profile']).join(' '),
  roleClaim: s?.roleClaim ?? 'groups',
  mappings: s?.roleMappings.map((m) => `${m.group} = ${m.role}`).join('\n') ?? '',
  defaultRole: s?.defaultRole ?? '',
  jit: s?.jit ?? false,
  required: s?.required ?? false,
});

const words = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** `group = role` per line; a line that does not parse is reported by the body schema. */
const mappingsOf = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const at = line.lastIndexOf('=');
      return { group: line.slice(0, at).trim(), role: line.slice(at + 1).trim() };
    });

async function renderSso(
  p: PageContext,
  state: { draft?: Draft; notice?: { tone: Tone; text: string }; status?: 200 | 409 | 422 } = {},
): Promise<Response> {
  const current = await getSsoSettings({ ctx: p.ctx });
  const d = state.draft ?? draftOf(current);
  return p.render({
    title: 'Single sign-on',
    status: state.status,
    notice: state.notice,
    body: (
      <>
        <h1>Single sign-on</h1>
        <p>
          People of your company sign in to this console with your identity provider (OpenID Connect).
          Register Warden at the provider as a confidential web client with this redirect URI:
        </p>
        <p>
          <code id="sso-redirect-uri">{callbackUrl(p.deps.config.publicBaseUrl)}</code>
        </p>
        <section class="card" aria-labelledby="sso-form-h">
          <h2 id="sso-form-h">{current ? 'Settings' : 'Set up single sign-on'}</h2>
          <form method="post" action="/console/sso/save">
            <CsrfField value={p.csrf} />
            <label for="sso-issuer">Issuer URL</label>
            <input id="sso-issuer" name="issuer" type="url" required maxlength={2048} value={d.issuer} />
            <label for="sso-client-id">Client id</label>
            <input id="sso-client-id" name="clientId" required maxlength={512} value={d.clientId} />
            <label for="sso-client-secret">Client secret</label>
            <input
              id="sso-client-secret"
              name="clientSecret"
              type="password"
              autocomplete="off"
              maxlength={4096}
              required={!current}
              placeholder={current ? 'Stored; leave empty to keep it' : ''}
            />
            <label for="sso-domains">Email domains (comma-separated)</label>
            <input id="sso-domains" name="domains" required value={d.domains} />
            <label for="sso-scopes">Scopes</label>
            <input id="sso-scopes" name="scopes" required value={d.scopes} />
            <label for="sso-role-claim">Group claim</label>
            <input id="sso-role-claim" name="roleClaim" required maxlength={256} value={d.roleClaim} />
            <label for="sso-mappings">
              Role mapping: one “group = role” per line; the first that matches wins
            </label>
            <textarea id="sso-mappings" name="mappings" rows={4}>
              {d.mappings}
            </textarea>
            <label for="sso-default-role">Role of people in no mapped group</label>
            <select id="sso-default-role" name="defaultRole">
              <option value="" selected={d.defaultRole === ''}>
                None: refuse them
              </option>
              {ROLES.map((r) => (
                <option value={r} selected={d.defaultRole === r}>
                  {r}
                </option>
              ))}
            </select>
            <label>
              <input type="checkbox" id="sso-jit" name="jit" value="on" checked={d.jit} /> Make people members
              at their first sign-in (just-in-time)
            </label>
            <label>
              <input type="checkbox" id="sso-required" name="required" value="on" checked={d.required} />{' '}
              Require single sign-on for the console (member tokens keep working for the API)
            </label>
            <div class="actions">
              <button type="submit">Save</button>
            </div>
          </form>
        </section>
        {current ? (
          <form method="post" action="/console/sso/remove" class="actions">
            <CsrfField value={p.csrf} />
            <button type="submit" class="secondary">
              Turn single sign-on off
            </button>
          </form>
        ) : null}
      </>
    ),
  });
}

export default definePage({
  path: '/console/sso',
  summary: "The workspace's single sign-on with an OpenID provider",
  nav: { label: 'Single sign-on', order: 65 },
  roles: ['admin'],
  async get(p) {
    const done = p.c.req.query('done');
    const text = done === 'saved' ? 'Saved.' : done === 'removed' ? 'Single sign-on is off.' : undefined;
    return renderSso(p, { notice: text ? { tone: 'ok', text } : undefined });
  },
  actions: [
    {
      path: '/console/sso/save',
      summary: 'Save the single sign-on settings',
      async handle(p, form) {
        const draft: Draft = {
          issuer: field(form, 'issuer').trim(),
          clientId: field(form, 'clientId').trim(),
          domains: field(form, 'domains'),
          scopes: field(form, 'scopes'),
          roleClaim: field(form, 'roleClaim').trim(),
          mappings: field(form, 'mappings'),
          defaultRole: field(form, 'defaultRole'),
          jit: field(form, 'jit') === 'on',
          required: field(form, 'required') === 'on',
        };
        const secret = field(form, 'clientSecret');
        const parsed = ssoBody.safeParse({
          issuer: draft.issuer,
          clientId: draft.clientId,
          ...(secret ? { clientSecret: secret } : {}),
          domains: words(draft.domains),
          scopes: words(draft.scopes),
          roleClaim: draft.roleClaim,
          roleMappings: mappingsOf(draft.mappings),
          defaultRole: draft.defaultRole === '' ? null : draft.defaultRole,
          jit: draft.jit,
          required: draft.required,
        });
        if (!parsed.success) {
          const where = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))].join(', ');
          return renderSso(p, {
            draft,
            status: 422,
            notice: { tone: 'error', text: `Not saved: check ${where} (a mapping line is “group = role”).` },
          });
        }
        try {
          await putSsoSettings({ ctx: p.ctx, input: parsed.data });
        } catch (error) {
          if (!(error instanceof GatewayError) || !['VALIDATION_ERROR', 'CONFLICT'].includes(error.code)) {
            throw error;
          }
          return renderSso(p, {
            draft,
            status: error.code === 'CONFLICT' ? 409 : 422,
            notice: { tone: 'error', text: `Not saved: ${withFields(error)}` },
          });
        }
        return p.redirect('/console/sso?done=saved');
      },
    },
    {
      path: '/console/sso/remove',
      summary: 'Turn single sign-on off',
      async handle(p) {
        await deleteSsoSettings({ ctx: p.ctx });
        return p.redirect('/console/sso?done=removed');
      },
    },
  ],
});
