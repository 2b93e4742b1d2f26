import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf, form, ORIGIN, signIn } from '../console/support.ts';
import { type LiveGateway, startLiveGateway } from '../e2e/support.ts';
import { call, createTenant, registerEcho, startTestGateway, type Tenant } from '../support/harness.ts';
import { pkce } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** No serious or critical axe-core violation on the page, as for every console page. */
async function expectAccessible(page: Page, name: string): Promise<void> {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) stays on.
  await page.evaluate(AXE);
  const result = (await page.evaluate('axe.run()')) as {
    violations: { id: string; impact: string | null; help: string }[];
  };
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${name}: ${v.id} ${v.help}`)).toEqual([]);
}

/** A server on 127.0.0.1, port 0. */
async function listenOn(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

/**
 * The MCP client's side, as an application keeps it: the SDK calls these while it discovers,
 * authorises, exchanges and refreshes. `redirectToAuthorization` records the URL the person's
 * browser must open; the test opens it in Chromium.
 */
class TestProvider implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = '';
  authorizationUrl?: URL;
  constructor(
    readonly clientMetadataUrl: string | undefined,
    private readonly redirect: string,
  ) {}
  get redirectUrl() {
    return this.redirect;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'SDK test client',
      redirect_uris: [this.redirect],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    };
  }
  state() {
    return 'state-from-the-client';
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'client') this.client = undefined;
  }
}

/**
 * Issue 22, "must show": the official MCP SDK's OAuth flow against Warden end to end. The client
 * is identified by a Client ID Metadata Document served over HTTPS on loopback (the gateway trusts
 * the test's CA and EGRESS_ALLOW_PRIVATE lets it reach 127.0.0.1); discovery starts from the 401 of
 * /mcp; consent is given in Chromium; the token calls `execute` as the chosen agent under its policy;
 * it is refreshed when it expires; disconnecting the client in the console makes the next call 401.
 */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the MCP SDK client authorised by OAuth', () => {
  let dir: string;
  let browser: Browser;
  let live: LiveGateway;
  let tenant: Tenant;
  let documents: Server;
  let callback: Server;
  const documentFetches: string[] = [];
  const returned: URLSearchParams[] = [];
  let clientId = '';
  let documentsOrigin = '';
  let cert = '';
  let redirect = '';
  let shopperKeyId = '';
  let provider: TestProvider;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-oauth-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');

    // Where the browser comes back to: the client's redirect URI (RFC 8252 loopback).
    callback = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      // The browser asks for /favicon.ico too.
      if (url.pathname === '/callback') returned.push(url.searchParams);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Done</title><p>You can close this window.</p>');
    });
    redirect = `http://127.0.0.1:${await listenOn(callback)}/callback`;

    // The client's metadata document, at the URL that is its client_id.
    documents = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
      const path = req.url ?? '';
      documentFetches.push(path);
      const self = `${documentsOrigin}${path}`;
      const doc = {
        client_id: path === '/oauth/impostor.json' ? clientId : self,
        client_name: 'SDK test client',
        redirect_uris: [redirect],
        token_endpoint_auth_method: path === '/oauth/secret.json' ? 'client_secret_basic' : 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      };
      if (path === '/oauth/missing.json') {
        res.writeHead(404).end();
      } else if (path === '/oauth/moved.json') {
        res.writeHead(302, { location: clientId }).end();
      } else if (path === '/oauth/huge.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...doc, padding: 'x'.repeat(10_000) }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(doc));
      }
    });
    documentsOrigin = `https://127.0.0.1:${await listenOn(documents)}`;
    clientId = `${documentsOrigin}/oauth/client.json`;

    live = await startLiveGateway({ outboundCa: cert, env: { EGRESS_ALLOW_PRIVATE: 'true' } });
    tenant = await createTenant(live.gw, { name: 'Acme' });
    await registerEcho(live.gw);
    // The agent the client will act as, bound to a policy of its own that refuses gift cards.
    const put = await call(live.gw, 'PUT', '/v1/policies/shopper', {
      key: tenant.adminToken,
      body: {
        rules: [
          {
            id: 'no-gift-cards',
            priority: 10,
            conditions: [{ field: 'item', op: 'contains', value: 'gift card' }],
            action: 'reject',
            reason: 'Gift cards are not allowed',
          },
        ],
      },
    });
    expect(put.status).toBe(201);
    const key = await call(live.gw, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      body: { agentId: 'shopper', policy: 'shopper', scopes: ['discover', 'query', 'execute'] },
    });
    expect(key.status).toBe(201);
    shopperKeyId = key.body.id as string;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
    provider = new TestProvider(clientId, redirect);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await live?.close();
    await new Promise((resolve) => documents?.close(resolve));
    await new Promise((resolve) => callback?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const mcpUrl = () => new URL(`${live.url}/mcp`);
  async function connect(): Promise<Client> {
    const client = new Client({ name: 'oauth-sdk-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider }));
    return client;
  }

  it('discovers from the 401, authorises with PKCE and consent in Chromium, and executes as the chosen agent', async () => {
    // 1. No token: the SDK reads WWW-Authenticate, discovers, and asks for the person's browser.
    const transport = new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider });
    await expect(new Client({ name: 'oauth-sdk-test', version: '1.0.0' }).connect(transport)).rejects.toThrow(
      UnauthorizedError,
    );
    const url = provider.authorizationUrl;
    if (!url) throw new Error('the SDK did not start an authorization');
    expect(`${url.origin}${url.pathname}`).toBe(`${live.url}/oauth/authorize`);
    expect(url.searchParams.get('client_id')).toBe(clientId);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('resource')).toBe(`${live.url}/mcp`);
    expect(provider.client?.client_id).toBe(clientId);

    // 2. The person: sign in to the console, choose the agent, authorise.
    const context = await browser.newContext();
    const cspViolations: string[] = [];
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(url.toString());
    expect(await page.locator('h1').textContent()).toBe('Sign in to the Warden console');
    await page.fill('#token', tenant.adminToken);
    await page.locator('form[action="/console/sign-in/token"] button[type="submit"]').click();
    await page.waitForSelector('#consent-approve');
    expect(await page.locator('h1').textContent()).toContain('SDK test client (127.0.0.1:');
    expect(await page.locator('#consent-redirect').textContent()).toBe(redirect);
    expect(await page.locator('#consent-workspace').textContent()).toBe('Acme');
    expect(documentFetches).toContain('/oauth/client.json');
    await expectAccessible(page, 'consent');
    await page.selectOption('#consent-agent', shopperKeyId);
    await Promise.all([page.waitForURL(/\/callback\?/), page.click('#consent-approve')]);
    await context.close();
    expect(cspViolations).toEqual([]);

    // 3. Back at the client: the code, its state, and the issuer it started with (RFC 9207).
    const answer = returned.at(-1);
    expect(answer?.get('state')).toBe('state-from-the-client');
    expect(answer?.get('iss')).toBe(live.url);
    const code = answer?.get('code');
    if (!code) throw new Error('no code came back');
    await transport.finishAuth(code);
    expect(provider.saved?.access_token).toMatch(/^woa_/);
    expect(provider.saved?.scope).toBe('discover query execute');

    // 4. The token acts as the shopper: its policy allows stickers and refuses gift cards.
    const client = await connect();
    const ok = (await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'stickers', amount_cents: 300 } },
    })) as CallToolResult;
    expect(ok.isError).toBeFalsy();
    const transactionId = (ok.structuredContent as { transactionId: string }).transactionId;
    const txn = await call(live.gw, 'GET', `/v1/transactions/${transactionId}`, { key: tenant.adminToken });
    expect(txn.body).toMatchObject({
      agentId: 'shopper',
      policy: 'shopper',
      status: 'succeeded',
      oauthClientId: clientId,
      mcp: { tool: 'execute', client: { name: 'oauth-sdk-test', version: '1.0.0' } },
    });
    const refused = (await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'a gift card', amount_cents: 300 } },
    })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({
      code: 'POLICY_REJECTED',
      details: { ruleId: 'no-gift-cards' },
    });
    await client.close();
  }, 90_000);

  it('refreshes an expired access token through the SDK, rotating the refresh token', async () => {
    const before = provider.saved;
    live.gw.now.advance(901_000);
    // The old access token is now refused with invalid_token…
    const stale = await fetch(`${live.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${before?.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toMatch(/error="invalid_token".*expired/);
    // …and the SDK refreshes on the 401 and carries on.
    const client = await connect();
    const result = (await client.callTool({ name: 'list_businesses', arguments: {} })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(provider.saved?.access_token).not.toBe(before?.access_token);
    expect(provider.saved?.refresh_token).not.toBe(before?.refresh_token);
    await client.close();
  });

  it('disconnecting the client in the console makes the next call 401', async () => {
    const token = provider.saved?.access_token;
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${live.url}/console/oauth/clients`);
    await page.fill('#token', tenant.adminToken);
    await page.locator('form[action="/console/sign-in/token"] button[type="submit"]').click();
    await page.waitForSelector('#oauth-clients');
    expect(await page.locator('#oauth-clients').textContent()).toContain(clientId);
    expect(await page.locator('#oauth-clients').textContent()).toContain('shopper');
    await expectAccessible(page, 'connected apps');
    await page.click('#oauth-clients button:has-text("Disconnect")');
    await page.waitForURL(/revoked=1/);
    expect(await page.locator('#oauth-clients tbody tr').count()).toBe(0);
    await context.close();

    const res = await fetch(`${live.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token".*revoked/);
    // The SDK cannot refresh its way back in (the grant is gone): it asks for the browser again.
    provider.authorizationUrl = undefined;
    await expect(connect()).rejects.toThrow(UnauthorizedError);
    expect(provider.authorizationUrl).toBeDefined();
  }, 60_000);

  describe('Client ID Metadata Documents that do not check out are shown, never redirected to', () => {
    const authorize = async (gw: LiveGateway['gw'], id: string) => {
      const { challenge } = pkce();
      const q = new URLSearchParams({
        response_type: 'code',
        client_id: id,
        redirect_uri: redirect,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: `${live.url}/mcp`,
      });
      return gw.app.request(`${live.url}/oauth/authorize?${q}`, { redirect: 'manual' });
    };

    it.each([
      ['a document that names another client_id', '/oauth/impostor.json', /names another client_id/],
      ['a 404', '/oauth/missing.json', /answered 404/],
      ['a redirect (not followed)', '/oauth/moved.json', /answered 302/],
      ['more than 5 KiB', '/oauth/huge.json', /larger than 5 KiB/],
      ['a confidential client', '/oauth/secret.json', /Only public clients/],
    ])('%s', async (_what, path, message) => {
      const res = await authorize(live.gw, `${documentsOrigin}${path}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toMatch(message);
    });

    it('a client_id that is not an https URL with a path is not a document (unknown client)', async () => {
      for (const id of [clientId.replace('https:', 'http:'), `${documentsOrigin}/`, `${clientId}#x`]) {
        const res = await authorize(live.gw, id);
        expect(res.status).toBe(400);
        expect(await res.text()).toContain('Unknown client_id');
      }
    });

    it('with EGRESS_ALLOW_PRIVATE=false a loopback document is refused before any request is made', async () => {
      const strict = await startTestGateway({
        outboundCa: cert,
        env: { PUBLIC_BASE_URL: live.url, EGRESS_ALLOW_PRIVATE: 'false' },
      });
      try {
        const before = documentFetches.length;
        const res = await authorize(strict, clientId);
        expect(res.status).toBe(400);
        expect(await res.text()).toMatch(/not allowed/);
        expect(documentFetches.length).toBe(before);
      } finally {
        await strict.dispose();
      }
    });
  });

  it('a client without a metadata document registers dynamically through the SDK (RFC 7591) and is authorised', async () => {
    const dcr = new TestProvider(undefined, redirect);
    const transport = new StreamableHTTPClientTransport(mcpUrl(), { authProvider: dcr });
    await expect(new Client({ name: 'dcr-client', version: '1.0.0' }).connect(transport)).rejects.toThrow(
      UnauthorizedError,
    );
    expect(dcr.client?.client_id).toMatch(/^oac_/);
    const url = dcr.authorizationUrl;
    if (!url) throw new Error('no authorization started');
    // Consent over HTTP, as a browser posts it (the browser flow is the test above).
    const cookie = await signIn(live.gw, tenant.adminToken);
    const consent = await live.gw.app.request(`${ORIGIN}/console/oauth/authorize${url.search}`, {
      headers: { cookie: `warden_console=${cookie}` },
    });
    expect(consent.status).toBe(200);
    const html = await consent.text();
    expect(html).toContain('registered dynamically');
    const res = await form(
      live.gw,
      '/console/oauth/authorize',
      {
        ...Object.fromEntries(url.searchParams),
        csrf: csrfOf(html),
        agentKeyId: tenant.agentKeyId,
        scope_discover: 'on',
        decision: 'approve',
      },
      { cookie },
    );
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code');
    if (!code) throw new Error('no code');
    await transport.finishAuth(code);
    const client = new Client({ name: 'dcr-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl(), { authProvider: dcr }));
    const listed = (await client.callTool({ name: 'list_businesses', arguments: {} })) as CallToolResult;
    expect(listed.isError).toBeFalsy();
    // Granted discover only: execute is refused as a tool error naming the scope.
    const refused = (await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'stickers', amount_cents: 1 } },
    })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ code: 'FORBIDDEN' });
    await client.close();
  }, 60_000);

  it('agent keys keep working on /mcp beside OAuth', async () => {
    const client = new Client({ name: 'key-client', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(mcpUrl(), {
        requestInit: { headers: { Authorization: `Bearer ${tenant.agentKey}` } },
      }),
    );
    const result = (await client.callTool({ name: 'list_businesses', arguments: {} })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    await client.close();
  });
});
