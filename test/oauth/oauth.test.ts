import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { expectError } from '../api/envelope.ts';
import { cookieOf, csrfOf, form, page, signIn } from '../console/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { grantCode, grantTokens, pkce, postForm, REDIRECT, registerClient } from './support.ts';

/**
 * Issue 22 items 2–4 over HTTP: Warden as the OAuth authorization server of /mcp and the agent API.
 * Metadata, registration, the authorization endpoint and consent, the token endpoint with its
 * refusals (RFC 6749 §5.2 codes, never a 500), rotation, revocation, and the token acting as the
 * agent key it was granted.
 */
describe.each(DIALECTS)('OAuth authorization server on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let echo: string;
  const base = 'http://localhost:8080';

  beforeAll(async () => {
    gw = await startTestGateway({ dialect, env: { PUBLIC_BASE_URL: base } });
    tenant = await createTenant(gw, { name: 'Acme' });
    echo = await registerEcho(gw);
  });
  afterAll(async () => gw.dispose());

  const discover = (key: string) => call(gw, 'POST', '/agp/discover', { key, body: { businessId: echo } });
  const authorizeQuery = (over: Record<string, string | undefined>) => {
    const { challenge } = pkce();
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: `${base}/mcp`,
      state: 's-1',
      ...over,
    };
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
    return `/oauth/authorize?${q}`;
  };

  describe('discovery', () => {
    it('publishes protected resource metadata for the agent API and, path-suffixed, for /mcp (RFC 9728)', async () => {
      const api = await call(gw, 'GET', '/.well-known/oauth-protected-resource');
      expect(api.status).toBe(200);
      expect(api.body).toMatchObject({ resource: base, authorization_servers: [base] });
      const mcp = await call(gw, 'GET', '/.well-known/oauth-protected-resource/mcp');
      expect(mcp.body).toMatchObject({
        resource: `${base}/mcp`,
        authorization_servers: [base],
        scopes_supported: ['discover', 'query', 'execute'],
      });
    });

    it('publishes authorization server metadata (RFC 8414): S256 only, iss in responses, CIMD, registration', async () => {
      const res = await call(gw, 'GET', '/.well-known/oauth-authorization-server');
      expect(res.body).toMatchObject({
        issuer: base,
        authorization_endpoint: `${base}/oauth/authorize`,
        token_endpoint: `${base}/oauth/token`,
        revocation_endpoint: `${base}/oauth/revoke`,
        registration_endpoint: `${base}/oauth/register`,
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
        client_id_metadata_document_supported: true,
        token_endpoint_auth_methods_supported: ['none'],
      });
    });

    it('a 401 from /mcp and from the agent API names the metadata in WWW-Authenticate', async () => {
      const mcp = await call(gw, 'POST', '/mcp', { body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
      expect(mcp.status).toBe(401);
      expect(mcp.headers.get('WWW-Authenticate')).toBe(
        `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
      );
      const api = await discover(`wk_${randomBytes(32).toString('base64url')}`);
      expectError(api, 401, 'UNAUTHORIZED');
      expect(api.headers.get('WWW-Authenticate')).toMatch(
        new RegExp(
          `^Bearer error="invalid_token", .*resource_metadata="${base}/.well-known/oauth-protected-resource"$`,
        ),
      );
    });
  });

  describe('dynamic registration (RFC 7591)', () => {
    it('registers a public client', async () => {
      const res = await call(gw, 'POST', '/oauth/register', {
        body: { client_name: 'Cursor', redirect_uris: ['cursor://anysphere/oauth/callback', REDIRECT] },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ token_endpoint_auth_method: 'none', client_name: 'Cursor' });
      expect(res.body.client_id).toMatch(/^oac_/);
      expect(res.body).not.toHaveProperty('client_secret');
    });

    it.each([
      ['plain http to another host', 'http://evil.example/cb'],
      ['a fragment', 'https://app.example/cb#x'],
      ['javascript:', 'javascript:alert(1)'],
      ['not a URI', 'not a uri'],
    ])('refuses a redirect URI with %s (invalid_redirect_uri)', async (_what, uri) => {
      const res = await call(gw, 'POST', '/oauth/register', { body: { redirect_uris: [uri] } });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_redirect_uri');
    });

    it('refuses a confidential client and grants it cannot use (invalid_client_metadata)', async () => {
      for (const body of [
        { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic' },
        { redirect_uris: [REDIRECT], grant_types: ['client_credentials'] },
        { redirect_uris: [] },
      ]) {
        const res = await call(gw, 'POST', '/oauth/register', { body });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_client_metadata');
      }
    });

    it('an operator can turn it off: 403 access_denied, and the metadata stops offering it', async () => {
      const off = await startTestGateway({ env: { OAUTH_DYNAMIC_REGISTRATION: 'false' } });
      try {
        const res = await call(off, 'POST', '/oauth/register', { body: { redirect_uris: [REDIRECT] } });
        expect(res.status).toBe(403);
        expect(res.body.error).toBe('access_denied');
        const meta = await call(off, 'GET', '/.well-known/oauth-authorization-server');
        expect(meta.body).not.toHaveProperty('registration_endpoint');
      } finally {
        await off.dispose();
      }
    });
  });

  describe('the authorization endpoint', () => {
    let clientId = '';
    beforeAll(async () => {
      clientId = await registerClient(gw);
    });
    const get = (path: string) => gw.app.request(path, { redirect: 'manual' });

    it('sends a valid request on to the console consent page', async () => {
      const res = await get(authorizeQuery({ client_id: clientId }));
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toMatch(/^\/console\/oauth\/authorize\?response_type=code&/);
    });

    it('an unknown client or a redirect URI not registered exactly is shown, never redirected to', async () => {
      for (const query of [
        authorizeQuery({ client_id: 'oac_unknown' }),
        authorizeQuery({ client_id: clientId, redirect_uri: 'https://evil.example/cb' }),
        authorizeQuery({ client_id: clientId, redirect_uri: `${REDIRECT}/` }),
        authorizeQuery({ client_id: clientId, redirect_uri: `${REDIRECT}?next=https://evil.example` }),
        authorizeQuery({ client_id: clientId, redirect_uri: undefined }),
        authorizeQuery({ client_id: undefined }),
      ]) {
        const res = await get(query);
        expect(res.status).toBe(400);
        expect(res.headers.get('location')).toBeNull();
        expect(await res.text()).toContain('This authorization request cannot be used');
      }
    });

    it.each([
      ['no PKCE', { code_challenge: undefined }, 'invalid_request'],
      ['PKCE plain', { code_challenge_method: 'plain' }, 'invalid_request'],
      ['no resource (RFC 8707 is required)', { resource: undefined }, 'invalid_target'],
      ['a resource that is not ours', { resource: 'https://other.example/mcp' }, 'invalid_target'],
      ['an unknown scope', { scope: 'discover admin' }, 'invalid_scope'],
      ['response_type token', { response_type: 'token' }, 'unsupported_response_type'],
    ])(
      '%s goes back to the client with the error, its state and iss (RFC 9207)',
      async (_what, over, error) => {
        const res = await get(authorizeQuery({ client_id: clientId, ...over }));
        expect(res.status).toBe(303);
        const location = new URL(res.headers.get('location') ?? '');
        expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
        expect(location.searchParams.get('error')).toBe(error);
        expect(location.searchParams.get('state')).toBe('s-1');
        expect(location.searchParams.get('iss')).toBe(base);
      },
    );
  });

  describe('consent in the console', () => {
    let clientId = '';
    let cookie = '';
    beforeAll(async () => {
      clientId = await registerClient(gw);
      cookie = await signIn(gw, tenant.adminToken);
    });

    it('without a session, goes through sign-in and back to the consent page', async () => {
      const res = await page(
        gw,
        authorizeQuery({ client_id: clientId }).replace('/oauth/', '/console/oauth/'),
      );
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toMatch(
        /^\/console\/sign-in\?next=%2Fconsole%2Foauth%2Fauthorize%3F/,
      );
    });

    it('shows the client, its redirect URI, the workspace and the agent keys; approving redirects with code, state, iss', async () => {
      const path = authorizeQuery({ client_id: clientId, scope: 'discover query' }).replace(
        '/oauth/',
        '/console/oauth/',
      );
      const shown = await page(gw, path, cookie);
      expect(shown.status).toBe(200);
      // The form may post on to the client's redirect URI: the page's CSP says so, and only that.
      expect(shown.headers.get('Content-Security-Policy')).toContain(
        "form-action 'self' http://127.0.0.1:8976;",
      );
      const html = await shown.text();
      expect(html).toContain('Test client');
      expect(html).toContain(REDIRECT);
      expect(html).toContain('Acme');
      expect(html).toContain('agent-1');
      expect(html).not.toContain('name="scope_execute"');
      const fields = Object.fromEntries(
        [...html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)"/g)].map((m) => [
          m[1] as string,
          (m[2] as string).replace(/&amp;/g, '&'),
        ]),
      );
      const res = await form(
        gw,
        '/console/oauth/authorize',
        {
          ...fields,
          agentKeyId: tenant.agentKeyId,
          scope_discover: 'on',
          scope_query: 'on',
          decision: 'approve',
        },
        { cookie },
      );
      expect(res.status).toBe(303);
      const location = new URL(res.headers.get('location') ?? '');
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
      expect(location.searchParams.get('code')).toMatch(/^woc_/);
      expect(location.searchParams.get('state')).toBe('s-1');
      expect(location.searchParams.get('iss')).toBe(base);
    });

    it('deny answers access_denied to the client', async () => {
      const path = authorizeQuery({ client_id: clientId }).replace('/oauth/', '/console/oauth/');
      const html = await (await page(gw, path, cookie)).text();
      const q = new URL(`${base}${path}`).searchParams;
      const res = await form(
        gw,
        '/console/oauth/authorize',
        { ...Object.fromEntries(q), csrf: csrfOf(html), decision: 'deny' },
        { cookie },
      );
      expect(res.status).toBe(303);
      expect(new URL(res.headers.get('location') ?? '').searchParams.get('error')).toBe('access_denied');
    });

    it('a consent form without the session CSRF field, or from another site, is refused and issues no code', async () => {
      const q = Object.fromEntries(new URL(`${base}${authorizeQuery({ client_id: clientId })}`).searchParams);
      const approve = { ...q, agentKeyId: tenant.agentKeyId, scope_discover: 'on', decision: 'approve' };
      const noCsrf = await form(gw, '/console/oauth/authorize', approve, { cookie });
      expect(noCsrf.status).toBe(403);
      const html = await (await page(gw, '/console/oauth/clients', cookie)).text();
      const crossSite = await form(
        gw,
        '/console/oauth/authorize',
        { ...approve, csrf: csrfOf(html) },
        { cookie, origin: 'https://evil.example' },
      );
      expect(crossSite.status).toBe(403);
      expect(crossSite.headers.get('location')).toBeNull();
    });

    it('an approver cannot authorise a client (403 page): agent keys are for developers and admins', async () => {
      const invited = await call(gw, 'POST', '/v1/members', {
        key: tenant.adminToken,
        body: { email: 'approver@acme.test', role: 'approver' },
      });
      const approverCookie = await signIn(gw, invited.body.token as string);
      const path = authorizeQuery({ client_id: clientId }).replace('/oauth/', '/console/oauth/');
      expect((await page(gw, path, approverCookie)).status).toBe(403);
    });

    it('a redirect URI swapped in the consent form is refused without a redirect', async () => {
      const path = authorizeQuery({ client_id: clientId }).replace('/oauth/', '/console/oauth/');
      const html = await (await page(gw, path, cookie)).text();
      const q = Object.fromEntries(new URL(`${base}${path}`).searchParams);
      const res = await form(
        gw,
        '/console/oauth/authorize',
        {
          ...q,
          redirect_uri: 'https://evil.example/cb',
          csrf: csrfOf(html),
          agentKeyId: tenant.agentKeyId,
          decision: 'approve',
        },
        { cookie },
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    });
  });

  describe('the token endpoint', () => {
    const exchange = (g: Awaited<ReturnType<typeof grantCode>>, over: Record<string, string> = {}) =>
      postForm(gw, '/oauth/token', {
        grant_type: 'authorization_code',
        code: g.code,
        redirect_uri: REDIRECT,
        client_id: g.clientId,
        code_verifier: g.verifier,
        resource: g.resource,
        ...over,
      });
    const expectOAuthError = (
      res: { status: number; body: Record<string, unknown>; headers: Headers },
      error: string,
    ) => {
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error });
      expect(typeof res.body.error_description).toBe('string');
      expect(res.headers.get('Cache-Control')).toBe('no-store');
    };

    it('a code for a short-lived access token and a refresh token; the token acts as the agent key', async () => {
      const g = await grantCode(gw, tenant);
      const res = await exchange(g);
      expect(res.status).toBe(200);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(res.body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 900,
        scope: 'discover query execute',
      });
      const found = await discover(res.body.access_token as string);
      expect(found.status).toBe(200);
      const txn = await call(gw, 'GET', `/v1/transactions/${found.body.transactionId as string}`, {
        key: tenant.adminToken,
      });
      expect(txn.body).toMatchObject({ agentId: 'agent-1', oauthClientId: g.clientId });
    });

    it('tokens are stored hashed: the database holds neither the code nor the tokens', async () => {
      const t = await grantTokens(gw, tenant);
      const hashes = await gw.db.reader.all(
        sql('SELECT token_hash FROM oauth_tokens', (r) => String(r[0])),
        [],
      );
      expect(hashes.length).toBeGreaterThan(0);
      for (const secret of [t.access_token, t.refresh_token]) {
        expect(hashes).not.toContain(secret);
        expect(hashes.some((h) => h.includes(secret.slice(4, 20)))).toBe(false);
      }
    });

    it('a replayed code is invalid_grant and revokes what the first exchange issued', async () => {
      const g = await grantCode(gw, tenant);
      const first = await exchange(g);
      expect(first.status).toBe(200);
      expectOAuthError(await exchange(g), 'invalid_grant');
      const after = await discover(first.body.access_token as string);
      expectError(after, 401, 'UNAUTHORIZED');
      expect(after.headers.get('WWW-Authenticate')).toMatch(/error="invalid_token"/);
      expectOAuthError(
        await postForm(gw, '/oauth/token', {
          grant_type: 'refresh_token',
          refresh_token: first.body.refresh_token as string,
          client_id: g.clientId,
        }),
        'invalid_grant',
      );
    });

    it.each([
      ['a wrong code_verifier', { code_verifier: pkce().verifier }, 'invalid_grant'],
      ['no code_verifier', { code_verifier: '' }, 'invalid_grant'],
      ['another redirect_uri', { redirect_uri: 'http://127.0.0.1:8976/other' }, 'invalid_grant'],
      ['another client_id', { client_id: 'oac_someone_else' }, 'invalid_grant'],
      ['another resource', { resource: 'https://other.example' }, 'invalid_target'],
      [
        'a code that was never issued',
        { code: `woc_${randomBytes(32).toString('base64url')}` },
        'invalid_grant',
      ],
      ['a refresh token used as a code', { code: 'wor_x' }, 'invalid_grant'],
    ])('%s is %s', async (_what, over, error) => {
      const g = await grantCode(gw, tenant);
      expectOAuthError(await exchange(g, over), error);
    });

    it('the same code exchanged by racing requests: exactly one answer, and the replay revokes it', async () => {
      const g = await grantCode(gw, tenant);
      const answers = await Promise.all([exchange(g), exchange(g), exchange(g), exchange(g)]);
      const won = answers.filter((a) => a.status === 200);
      expect(won).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200)) expectOAuthError(a, 'invalid_grant');
      expectError(await discover(won[0]?.body.access_token as string), 401, 'UNAUTHORIZED', /revoked/);
    });

    it('an expired code is invalid_grant', async () => {
      const g = await grantCode(gw, tenant);
      gw.now.advance(61_000);
      expectOAuthError(await exchange(g), 'invalid_grant');
    });

    it('an unknown grant_type, a JSON body or a repeated parameter are refused in OAuth form', async () => {
      expectOAuthError(
        await postForm(gw, '/oauth/token', { grant_type: 'password' }),
        'unsupported_grant_type',
      );
      const json = await call(gw, 'POST', '/oauth/token', { body: { grant_type: 'authorization_code' } });
      expectOAuthError(json, 'invalid_request');
      const repeated = await call(gw, 'POST', '/oauth/token', {
        rawBody: 'grant_type=refresh_token&refresh_token=a&refresh_token=b',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      expectOAuthError(repeated, 'invalid_request');
    });
  });

  describe('tokens in use', () => {
    it('an access token expires: 401 invalid_token with WWW-Authenticate', async () => {
      const t = await grantTokens(gw, tenant);
      expect((await discover(t.access_token)).status).toBe(200);
      gw.now.advance(901_000);
      const res = await discover(t.access_token);
      expectError(res, 401, 'UNAUTHORIZED', /expired/);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_token"/);
    });

    it('a token is bound to its resource: an /mcp token is refused by the agent API and the other way round', async () => {
      const mcp = await grantTokens(gw, tenant, { resource: 'mcp' });
      const api = await grantTokens(gw, tenant, { resource: 'api' });
      const refused = await discover(mcp.access_token);
      expectError(refused, 401, 'UNAUTHORIZED', /issued for http:\/\/localhost:8080\/mcp/);
      const res = await call(gw, 'POST', '/mcp', {
        key: api.access_token,
        body: { jsonrpc: '2.0', id: 1, method: 'ping' },
        headers: { Accept: 'application/json, text/event-stream' },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(
        /error="invalid_token".*oauth-protected-resource\/mcp"/,
      );
    });

    it('a token from another authorization server (another gateway) is unknown here: 401 invalid_token', async () => {
      const elsewhere = await startTestGateway({ env: { PUBLIC_BASE_URL: base } });
      try {
        const otherTenant = await createTenant(elsewhere);
        await registerEcho(elsewhere);
        const foreign = await grantTokens(elsewhere, otherTenant);
        expect(
          (
            await call(elsewhere, 'POST', '/agp/discover', {
              key: foreign.access_token,
              body: { businessId: echo },
            })
          ).status,
        ).toBe(200);
        const res = await discover(foreign.access_token);
        expectError(res, 401, 'UNAUTHORIZED', /unknown token/);
        // A code of the other server is unknown here too (its iss would not match for the client either).
        const code = await grantCode(elsewhere, otherTenant);
        const exchanged = await postForm(gw, '/oauth/token', {
          grant_type: 'authorization_code',
          code: code.code,
          redirect_uri: REDIRECT,
          client_id: code.clientId,
          code_verifier: code.verifier,
        });
        expect({ status: exchanged.status, error: exchanged.body.error }).toEqual({
          status: 400,
          error: 'invalid_grant',
        });
      } finally {
        await elsewhere.dispose();
      }
    });

    it('only the scopes granted: 403 with insufficient_scope naming the scope', async () => {
      const t = await grantTokens(gw, tenant, { scopes: ['discover'] });
      expect((await discover(t.access_token)).status).toBe(200);
      const res = await call(gw, 'POST', '/agp/execute', {
        key: t.access_token,
        body: { businessId: echo, request: { amount_cents: 10 } },
      });
      expectError(res, 403, 'FORBIDDEN', /execute scope/);
      expect(res.headers.get('WWW-Authenticate')).toMatch(
        /^Bearer error="insufficient_scope", scope="execute"/,
      );
    });

    it('revoking the agent key ends the tokens that act as it', async () => {
      const key = await call(gw, 'POST', '/v1/keys', {
        key: tenant.adminToken,
        body: { agentId: 'short-lived' },
      });
      const t = await grantTokens(gw, tenant, { agentKeyId: key.body.id as string });
      expect((await discover(t.access_token)).status).toBe(200);
      await call(gw, 'DELETE', `/v1/keys/${key.body.id as string}`, { key: tenant.adminToken });
      expectError(await discover(t.access_token), 401, 'UNAUTHORIZED', /agent key/);
      const refreshed = await postForm(gw, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: t.refresh_token,
        client_id: t.clientId,
      });
      expect(refreshed.body.error).toBe('invalid_grant');
    });
  });

  describe('refresh and revocation', () => {
    const refresh = (t: { refresh_token: string; clientId: string }) =>
      postForm(gw, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: t.refresh_token,
        client_id: t.clientId,
      });

    it('a refresh token rotates; presenting the old one again revokes the whole family', async () => {
      const t = await grantTokens(gw, tenant);
      const next = await refresh(t);
      expect(next.status).toBe(200);
      expect(next.body.refresh_token).not.toBe(t.refresh_token);
      expect((await discover(next.body.access_token as string)).status).toBe(200);
      const replay = await refresh(t);
      expect(replay.body.error).toBe('invalid_grant');
      expectError(await discover(next.body.access_token as string), 401, 'UNAUTHORIZED');
      const newest = await refresh({
        refresh_token: next.body.refresh_token as string,
        clientId: t.clientId,
      });
      expect(newest.body.error).toBe('invalid_grant');
    });

    it('refreshes racing with the same token: exactly one succeeds', async () => {
      const t = await grantTokens(gw, tenant);
      const answers = await Promise.all([refresh(t), refresh(t), refresh(t)]);
      // One wins the conditional update; the others find it used and revoke the family (rotation).
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200)) expect(a.body.error).toBe('invalid_grant');
    });

    it('a refresh token of another client is invalid_grant', async () => {
      const t = await grantTokens(gw, tenant);
      const res = await refresh({ refresh_token: t.refresh_token, clientId: 'oac_other' });
      expect(res.body.error).toBe('invalid_grant');
    });

    it('RFC 7009: revoking an access token ends it alone; revoking a refresh token ends the grant', async () => {
      const t = await grantTokens(gw, tenant);
      const revokeAccess = await postForm(gw, '/oauth/revoke', {
        token: t.access_token,
        client_id: t.clientId,
      });
      expect(revokeAccess.status).toBe(200);
      expectError(await discover(t.access_token), 401, 'UNAUTHORIZED', /revoked/);
      const next = await refresh(t);
      expect(next.status).toBe(200);
      const revokeRefresh = await postForm(gw, '/oauth/revoke', {
        token: next.body.refresh_token as string,
        client_id: t.clientId,
      });
      expect(revokeRefresh.status).toBe(200);
      expectError(await discover(next.body.access_token as string), 401, 'UNAUTHORIZED');
    });

    it('RFC 7009: an unknown token is 200; another client’s token is refused', async () => {
      const unknown = await postForm(gw, '/oauth/revoke', { token: 'woa_nothing', client_id: 'oac_x' });
      expect(unknown.status).toBe(200);
      const t = await grantTokens(gw, tenant);
      const res = await postForm(gw, '/oauth/revoke', { token: t.access_token, client_id: 'oac_other' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unauthorized_client');
      expect((await discover(t.access_token)).status).toBe(200);
    });

    it('the member sees the client in the console and disconnects it: the next call is 401', async () => {
      const t = await grantTokens(gw, tenant);
      const cookie = await signIn(gw, tenant.adminToken);
      const listed = await page(gw, '/console/oauth/clients', cookie);
      const html = await listed.text();
      expect(html).toContain(t.clientId);
      const id = /name="id" value="(ogr_[A-Z0-9]+)"/.exec(html)?.[1] ?? '';
      const res = await form(gw, '/console/oauth/clients/revoke', { id, csrf: csrfOf(html) }, { cookie });
      expect(res.status).toBe(303);
      expect(cookieOf(res)).toBeUndefined();
      expectError(await discover(t.access_token), 401, 'UNAUTHORIZED', /revoked/);
      expect((await refresh(t)).body.error).toBe('invalid_grant');
      const audit = await call(gw, 'GET', '/v1/audit', { key: tenant.adminToken });
      const actions = (audit.body.events as { action: string }[]).map((e) => e.action);
      expect(actions).toContain('oauth.client_authorized');
      expect(actions).toContain('oauth.client_revoked');
    });
  });
});
