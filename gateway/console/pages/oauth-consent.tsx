import { GatewayError, OAUTH_SCOPES, type Scope } from '../../domain/index.ts';
import {
  type AuthorizationRequest,
  approveAuthorization,
  checkAuthorizationRequest,
  denyAuthorization,
  isProblem,
} from '../../services/oauth/index.ts';
import { listAgentKeys } from '../../services/tenancy/index.ts';
import { definePage, field, type PageContext } from '../page.ts';
import { CSP } from '../security.ts';
import { CsrfField, MessageBody } from '../views/layout.tsx';

/**
 * /console/oauth/authorize (issue 22): the consent page of Warden's authorization server. The
 * member signed in to the console (with a member token or an emailed link) sees which client asks,
 * where it will be sent back, for which resource and scopes, and chooses the agent key the client
 * will act as and the scopes it gets; approving sends the browser back to the client with a code.
 * Developers and admins only: they are the ones who hold agent keys.
 */

const ROLES = ['admin', 'developer'] as const;

/** The authorization request's parameters, carried from the query to the form unchanged. */
const PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'resource',
  'scope',
] as const;

/** Where the form may be posted and then redirected: here, and the client's redirect URI (CSP form-action). */
function consentCsp(redirectUri: string): string {
  const url = new URL(redirectUri);
  const target = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
  return CSP.replace("form-action 'self'", `form-action 'self' ${target}`);
}

async function checked(p: PageContext, input: Record<string, string | undefined>) {
  const result = await checkAuthorizationRequest({ deps: p.deps, input });
  if (!isProblem(result)) return result;
  if (result.redirect) return p.redirect(result.redirect);
  return p.render({
    title: 'This authorization request cannot be used',
    status: 400,
    body: (
      <MessageBody
        title="This authorization request cannot be used"
        message={`${result.error.description} Nothing was authorised; go back to the application and try again.`}
      />
    ),
  });
}

function clientLabel(request: AuthorizationRequest): string {
  const name = request.client.clientName;
  if (request.client.metadataDocument) {
    const host = new URL(request.client.clientId).host;
    return name ? `${name} (${host})` : host;
  }
  return name ?? request.client.clientId;
}

async function renderConsent(
  p: PageContext,
  request: AuthorizationRequest,
  params: Record<string, string | undefined>,
) {
  const keys = (await listAgentKeys({ ctx: p.ctx })).filter((k) => k.revokedAt === null);
  p.c.header('Content-Security-Policy', consentCsp(request.redirectUri));
  const label = clientLabel(request);
  return p.render({
    title: 'Authorise an application',
    body: (
      <>
        <h1>Authorise {label}</h1>
        <section class="card" aria-labelledby="consent-h">
          <h2 id="consent-h">What it asks for</h2>
          <dl>
            <dt>Application</dt>
            <dd id="consent-client">
              {label}
              {request.client.metadataDocument ? null : (
                <span class="muted"> (registered dynamically; its name is its own claim)</span>
              )}
            </dd>
            <dt>Sends you back to</dt>
            <dd>
              <code id="consent-redirect">{request.redirectUri}</code>
            </dd>
            <dt>Resource</dt>
            <dd>
              <code>{request.resource}</code>
            </dd>
            <dt>Workspace</dt>
            <dd id="consent-workspace">{p.session.workspaceName}</dd>
          </dl>
          <p class="muted">
            The application gets access to this workspace, the one you are signed in to. For another of your
            workspaces, sign out and sign in to that one, then start again from the application.
          </p>
          {keys.length === 0 ? (
            <p>This workspace has no live agent key for the application to act as: create one first.</p>
          ) : (
            <form method="post" action="/console/oauth/authorize">
              <CsrfField value={p.csrf} />
              {PARAMS.map((name) =>
                params[name] === undefined ? null : <input type="hidden" name={name} value={params[name]} />,
              )}
              <label for="consent-agent">Act as the agent</label>
              <select id="consent-agent" name="agentKeyId" required>
                {keys.map((k) => (
                  <option value={k.id}>
                    {k.agentId} ({k.prefix}…, {k.scopes.join(', ')}; policy {k.policy ?? 'default'})
                  </option>
                ))}
              </select>
              <fieldset>
                <legend>Scopes (within the agent key's own)</legend>
                {OAUTH_SCOPES.filter((s) => request.scopes.includes(s)).map((scope) => (
                  <label>
                    <input type="checkbox" name={`scope_${scope}`} value="on" checked /> {scope}
                  </label>
                ))}
              </fieldset>
              <p class="muted">
                The application will act exactly as this agent: its policy, limits and rate limit apply, and
                the ledger names the application with every transaction. You can disconnect it under Connected
                apps.
              </p>
              <div class="actions">
                <button type="submit" name="decision" value="approve" id="consent-approve">
                  Authorise
                </button>
                <button type="submit" name="decision" value="deny" class="secondary" id="consent-deny">
                  Deny
                </button>
              </div>
            </form>
          )}
        </section>
      </>
    ),
  });
}

export default definePage({
  path: '/console/oauth/authorize',
  summary: 'Consent to an OAuth client acting as one of the workspace’s agents',
  roles: ROLES,
  async get(p) {
    const params = Object.fromEntries(PARAMS.map((name) => [name, p.c.req.query(name)]));
    const request = await checked(p, params);
    if (request instanceof Response) return request;
    return renderConsent(p, request, params);
  },
  actions: [
    {
      path: '/console/oauth/authorize',
      summary: 'Authorise (a code goes back to the client) or deny',
      async handle(p, form) {
        const params = Object.fromEntries(PARAMS.map((name) => [name, form[name]]));
        const request = await checked(p, params);
        if (request instanceof Response) return request;
        if (field(form, 'decision') !== 'approve')
          return p.redirect(denyAuthorization({ deps: p.deps, input: { request } }));
        const scopes = OAUTH_SCOPES.filter((s) => field(form, `scope_${s}`) === 'on') as Scope[];
        try {
          const { redirect } = await approveAuthorization({
            ctx: p.ctx,
            input: { request, agentKeyId: field(form, 'agentKeyId'), scopes },
          });
          return p.redirect(redirect);
        } catch (error) {
          if (!(error instanceof GatewayError) || error.code !== 'VALIDATION_ERROR') throw error;
          return p.render({
            title: 'Not authorised',
            status: 422,
            body: <MessageBody title="Not authorised" message={error.message} />,
          });
        }
      },
    },
  ],
});
