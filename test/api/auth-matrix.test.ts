import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../gateway/domain/index.ts';
import { registerBusiness } from '../../gateway/services/tenancy/businesses.ts';
import { grantTokens } from '../oauth/support.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  operator,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { expectError } from './envelope.ts';

/**
 * STYLE (Tests): one shared auth matrix — no key, wrong key, wrong role, other workspace — run over every
 * route of the agent, member and operator APIs (DESIGN §3, §4, §5).
 */

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Resolved when the test runs: some paths need ids made in `beforeAll`. */
  path: () => string;
  body?: () => unknown;
  /** The scope the route needs; any valid key when absent. */
  scope?: Scope;
  /** What a valid, fully scoped caller gets. */
  ok: number;
}

let gw: TestGateway;
let tenant: Tenant;
let other: Tenant;
let echo: string;
/** The key of a business of its own (issue 12), for the business routes. */
let businessKey = '';
/** A transaction of `tenant`, for the status route. */
let txnId = '';
/** Issue 22: OAuth access tokens acting as `tenant`'s agent key, for the agent API and for /mcp. */
let apiToken = '';
let mcpToken = '';

const order = () => ({ businessId: echo, request: { sku: 'sticker', quantity: 1, amount_cents: 50 } });

const agentRoutes: Record<string, Route> = {
  'POST /agp/discover': {
    method: 'POST',
    path: () => '/agp/discover',
    body: () => ({ businessId: echo }),
    scope: 'discover',
    ok: 200,
  },
  'POST /agp/query': {
    method: 'POST',
    path: () => '/agp/query',
    body: () => ({ businessId: echo, request: { sku: 'sticker' } }),
    scope: 'query',
    ok: 200,
  },
  'POST /agp/execute/prepare': {
    method: 'POST',
    path: () => '/agp/execute/prepare',
    body: order,
    scope: 'execute',
    ok: 200,
  },
  'POST /agp/execute': { method: 'POST', path: () => '/agp/execute', body: order, scope: 'execute', ok: 200 },
  'GET /agp/status/:id': { method: 'GET', path: () => `/agp/status/${txnId}`, ok: 200 },
  'GET /agp/businesses': { method: 'GET', path: () => '/agp/businesses', ok: 200 },
};
const agentRouteNames = Object.keys(agentRoutes);

const route = (name: string): Route => {
  const found = agentRoutes[name];
  if (!found) throw new Error(`no route ${name}`);
  return found;
};

const hit = (r: Route, auth: { key?: string; headers?: Record<string, string> } = {}) =>
  call(gw, r.method, r.path(), { ...auth, body: r.body?.() });

/** A well-formed key that was never issued: same prefix and length as a real one. */
const forgedKey = () => `wk_${randomBytes(32).toString('base64url')}`;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await createTenant(gw, { name: 'Home' });
  other = await createTenant(gw, { name: 'Other' });
  echo = await registerEcho(gw);
  ({ businessKey } = await registerBusiness({
    ctx: operator(gw),
    input: { id: 'matrix-biz', name: 'Matrix', category: 'demo', adapter: { type: 'echo' } },
  }));
  const discovered = await call(gw, 'POST', '/agp/discover', {
    key: tenant.agentKey,
    body: { businessId: echo },
  });
  expect(discovered.status).toBe(200);
  txnId = discovered.body.transactionId as string;
  apiToken = (await grantTokens(gw, tenant, { resource: 'api' })).access_token;
  mcpToken = (await grantTokens(gw, tenant, { resource: 'mcp' })).access_token;
});
afterAll(async () => {
  await gw.dispose();
});

describe('agent routes', () => {
  it.each(agentRouteNames)('%s answers a valid Bearer key', async (name) => {
    const res = await hit(route(name), { key: tenant.agentKey });
    expect(res.status).toBe(route(name).ok);
    expect(res.headers.get('X-Request-Id')).toBeTruthy();
  });

  it.each(agentRouteNames)('%s accepts the key in X-API-Key instead of Authorization', async (name) => {
    const res = await hit(route(name), { headers: { 'X-API-Key': tenant.agentKey } });
    expect(res.status).toBe(route(name).ok);
  });

  it.each(agentRouteNames)('%s without a key is 401 UNAUTHORIZED', async (name) => {
    expectError(await hit(route(name)), 401, 'UNAUTHORIZED');
  });

  it.each(agentRouteNames)(
    '%s: a 401 names the OAuth protected resource metadata (RFC 9728 §5.1), with invalid_token for a bad one',
    async (name) => {
      const metadata = `resource_metadata="${gw.deps.config.publicBaseUrl}/.well-known/oauth-protected-resource"`;
      expect((await hit(route(name))).headers.get('WWW-Authenticate')).toBe(`Bearer ${metadata}`);
      const forged = await hit(route(name), { key: forgedKey() });
      expect(forged.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_token", /);
      expect(forged.headers.get('WWW-Authenticate')).toContain(metadata);
    },
  );

  it.each(agentRouteNames)('%s answers an OAuth access token acting as the key (issue 22)', async (name) => {
    expect((await hit(route(name), { key: apiToken })).status).toBe(route(name).ok);
  });

  it.each(agentRouteNames)(
    '%s refuses an OAuth token issued for /mcp: wrong audience (401)',
    async (name) => {
      const res = await hit(route(name), { key: mcpToken });
      expectError(res, 401, 'UNAUTHORIZED');
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_token"/);
    },
  );

  it.each(agentRouteNames)('%s refuses an OAuth token that was never issued (401)', async (name) => {
    expectError(
      await hit(route(name), { key: `woa_${randomBytes(32).toString('base64url')}` }),
      401,
      'UNAUTHORIZED',
    );
  });

  it.each(agentRouteNames)('%s with a key that was never issued is 401', async (name) => {
    expectError(await hit(route(name), { key: forgedKey() }), 401, 'UNAUTHORIZED');
    expectError(await hit(route(name), { headers: { 'X-API-Key': forgedKey() } }), 401, 'UNAUTHORIZED');
  });

  it.each(agentRouteNames)('%s with a malformed Authorization header is 401', async (name) => {
    for (const authorization of [`Basic ${tenant.agentKey}`, 'Bearer', `Token ${tenant.agentKey}`]) {
      expectError(await hit(route(name), { headers: { Authorization: authorization } }), 401, 'UNAUTHORIZED');
    }
  });

  it.each(agentRouteNames)('%s refuses a member token: it is not an agent key (401)', async (name) => {
    expectError(await hit(route(name), { key: tenant.adminToken }), 401, 'UNAUTHORIZED');
  });

  it.each(agentRouteNames)('%s refuses the operator token (401)', async (name) => {
    expectError(await hit(route(name), { key: ADMIN_TOKEN }), 401, 'UNAUTHORIZED');
  });

  describe.each([['discover'], ['query'], ['discover', 'query'], ['execute']] as Scope[][])(
    'a key with scopes %j',
    (...scopes) => {
      let key = '';
      beforeAll(async () => {
        const created = await call(gw, 'POST', '/v1/keys', {
          key: tenant.adminToken,
          body: { agentId: `scoped-${scopes.join('-')}`, scopes },
        });
        expect(created.status).toBe(201);
        key = created.body.key as string;
      });

      it.each(agentRouteNames)('%s: allowed with the scope, 403 FORBIDDEN without it', async (name) => {
        const r = route(name);
        const res = await hit(r, { key });
        if (r.scope === undefined || scopes.includes(r.scope)) {
          expect(res.status).toBe(r.ok);
        } else {
          expectError(res, 403, 'FORBIDDEN', new RegExp(r.scope));
        }
      });

      it.each(agentRouteNames)(
        '%s: an OAuth token granted only these scopes is held to them',
        async (name) => {
          const token = (await grantTokens(gw, tenant, { scopes })).access_token;
          const r = route(name);
          const res = await hit(r, { key: token });
          if (r.scope === undefined || scopes.includes(r.scope)) {
            expect(res.status).toBe(r.ok);
          } else {
            expectError(res, 403, 'FORBIDDEN', new RegExp(r.scope));
            expect(res.headers.get('WWW-Authenticate')).toMatch(
              `error="insufficient_scope", scope="${r.scope}"`,
            );
          }
        },
      );
    },
  );

  it('a key without the execute scope changes nothing: no transaction is recorded', async () => {
    const created = await call(gw, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      body: { agentId: 'reader', scopes: ['discover', 'query'] },
    });
    const before = await call(gw, 'GET', '/v1/transactions', { key: tenant.adminToken });
    expect(before.status).toBe(200);
    expectError(
      await call(gw, 'POST', '/agp/execute', { key: created.body.key as string, body: order() }),
      403,
      'FORBIDDEN',
    );
    const after = await call(gw, 'GET', '/v1/transactions', { key: tenant.adminToken });
    expect(after.body).toEqual(before.body);
  });

  it('a revoked key is refused from the next request on, on every route', async () => {
    const created = await call(gw, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      body: { agentId: 'doomed' },
    });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    for (const name of agentRouteNames) expect((await hit(route(name), { key })).status).toBe(route(name).ok);

    const revoked = await call(gw, 'DELETE', `/v1/keys/${created.body.id as string}`, {
      key: tenant.adminToken,
    });
    expect(revoked.status).toBe(204);

    for (const name of agentRouteNames) {
      expectError(await hit(route(name), { key }), 401, 'UNAUTHORIZED');
      expectError(await hit(route(name), { headers: { 'X-API-Key': key } }), 401, 'UNAUTHORIZED');
    }
    // Revoking one key leaves the others working.
    expect((await hit(route('GET /agp/businesses'), { key: tenant.agentKey })).status).toBe(200);
  });

  it("another workspace's key cannot read this workspace's transaction (404, not 401 or 403)", async () => {
    expectError(
      await call(gw, 'GET', `/agp/status/${txnId}`, { key: other.agentKey }),
      404,
      'TRANSACTION_NOT_FOUND',
    );
  });
});

describe('member routes', () => {
  /** Role → token, members made through the API by the workspace admin. */
  const tokens: Record<'admin' | 'developer' | 'approver', string> = {
    admin: '',
    developer: '',
    approver: '',
  };

  beforeAll(async () => {
    tokens.admin = tenant.adminToken;
    for (const role of ['developer', 'approver'] as const) {
      const res = await call(gw, 'POST', '/v1/members', {
        key: tenant.adminToken,
        body: { email: `${role}@home.test`, role },
      });
      expect(res.status).toBe(201);
      tokens[role] = res.body.token as string;
    }
  });

  /** A key to revoke, fresh for every attempt so a success does not hide the next case. */
  const freshKeyId = async () => {
    const res = await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId: 'victim' } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  let n = 0;
  /** A member to change, remove or rotate, fresh for every attempt (never the caller itself). */
  const freshMemberId = async () => {
    const res = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: `target-${++n}@home.test`, role: 'developer' },
    });
    expect(res.status).toBe(201);
    return (res.body.member as { id: string }).id;
  };
  const memberRoutes: Record<
    string,
    {
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
      path: () => Promise<string>;
      body?: () => unknown;
      ok: number;
    }
  > = {
    'POST /v1/keys': {
      method: 'POST',
      path: async () => '/v1/keys',
      body: () => ({ agentId: 'a' }),
      ok: 201,
    },
    'GET /v1/keys': { method: 'GET', path: async () => '/v1/keys', ok: 200 },
    'DELETE /v1/keys/:id': { method: 'DELETE', path: async () => `/v1/keys/${await freshKeyId()}`, ok: 204 },
    'POST /v1/members': {
      method: 'POST',
      path: async () => '/v1/members',
      body: () => ({ email: `new-${++n}@home.test`, role: 'approver' }),
      ok: 201,
    },
    'GET /v1/members': { method: 'GET', path: async () => '/v1/members', ok: 200 },
    'PATCH /v1/members/:id': {
      method: 'PATCH',
      path: async () => `/v1/members/${await freshMemberId()}`,
      body: () => ({ role: 'approver' }),
      ok: 200,
    },
    'DELETE /v1/members/:id': {
      method: 'DELETE',
      path: async () => `/v1/members/${await freshMemberId()}`,
      ok: 204,
    },
    'POST /v1/members/:id/rotate-token': {
      method: 'POST',
      path: async () => `/v1/members/${await freshMemberId()}/rotate-token`,
      ok: 200,
    },
    'POST /v1/invites': {
      method: 'POST',
      path: async () => '/v1/invites',
      body: () => ({ email: `invited-${++n}@home.test`, role: 'developer' }),
      ok: 201,
    },
  };
  const names = Object.keys(memberRoutes);
  const memberRoute = (name: string) => {
    const found = memberRoutes[name];
    if (!found) throw new Error(`no route ${name}`);
    return found;
  };
  const hitMember = async (name: string, auth: { key?: string; headers?: Record<string, string> } = {}) => {
    const r = memberRoute(name);
    return call(gw, r.method, await r.path(), { ...auth, body: r.body?.() });
  };

  it.each(names)('%s without a token is 401 UNAUTHORIZED', async (name) => {
    expectError(await hitMember(name), 401, 'UNAUTHORIZED');
  });

  it.each(names)('%s with a token that was never issued is 401', async (name) => {
    expectError(
      await hitMember(name, { key: `wm_${randomBytes(32).toString('base64url')}` }),
      401,
      'UNAUTHORIZED',
    );
  });

  it.each(names)('%s refuses an agent key: it is not a member token (401)', async (name) => {
    expectError(await hitMember(name, { key: tenant.agentKey }), 401, 'UNAUTHORIZED');
  });

  it.each(names)('%s refuses the operator token (401)', async (name) => {
    expectError(await hitMember(name, { key: ADMIN_TOKEN }), 401, 'UNAUTHORIZED');
  });

  it.each(names)('%s accepts the member token in X-API-Key', async (name) => {
    expect((await hitMember(name, { headers: { 'X-API-Key': tenant.adminToken } })).status).toBe(
      memberRoute(name).ok,
    );
  });

  // Which role may do what: approvers decide approvals, developers manage agent keys, admins do both and
  // manage members.
  const allowed: Record<string, readonly ('admin' | 'developer' | 'approver')[]> = {
    'POST /v1/keys': ['admin', 'developer'],
    'GET /v1/keys': ['admin', 'developer', 'approver'],
    'DELETE /v1/keys/:id': ['admin', 'developer'],
    'POST /v1/members': ['admin'],
    'GET /v1/members': ['admin', 'developer', 'approver'],
    'PATCH /v1/members/:id': ['admin'],
    'DELETE /v1/members/:id': ['admin'],
    // Another member's token: admins only (each member may rotate their own; see members.test.ts).
    'POST /v1/members/:id/rotate-token': ['admin'],
    'POST /v1/invites': ['admin'],
    'GET /v1/invites': ['admin'],
    'DELETE /v1/invites/:id': ['admin'],
  };
  const cases = names.flatMap((name) =>
    (['admin', 'developer', 'approver'] as const).map((role) => [name, role] as const),
  );

  it.each(cases)('%s as %s', async (name, role) => {
    const res = await hitMember(name, { key: tokens[role] });
    if (allowed[name]?.includes(role)) expect(res.status).toBe(memberRoute(name).ok);
    else expectError(res, 403, 'FORBIDDEN');
  });

  it('an approver refused key creation leaves no key behind', async () => {
    const before = await call(gw, 'GET', '/v1/keys', { key: tenant.adminToken });
    expectError(
      await call(gw, 'POST', '/v1/keys', { key: tokens.approver, body: { agentId: 'sneaky' } }),
      403,
      'FORBIDDEN',
    );
    const after = await call(gw, 'GET', '/v1/keys', { key: tenant.adminToken });
    expect(after.body.keys).toEqual(before.body.keys);
  });

  it("another workspace's admin cannot revoke this workspace's key (404) and the key keeps working", async () => {
    const id = await freshKeyId();
    expectError(await call(gw, 'DELETE', `/v1/keys/${id}`, { key: other.adminToken }), 404, 'NOT_FOUND');
    const listed = await call(gw, 'GET', '/v1/keys', { key: tenant.adminToken });
    const key = (listed.body.keys as { id: string; revokedAt: string | null }[]).find((k) => k.id === id);
    expect(key?.revokedAt).toBeNull();
  });
});

describe('operator routes', () => {
  /** A workspace to archive, restore or delete, fresh for every attempt; archived when asked. */
  const freshWorkspace = async (archived: boolean) => {
    const made = await createTenant(gw, { name: 'Throwaway' });
    if (archived) {
      const res = await call(gw, 'POST', `/v1/admin/workspaces/${made.workspaceId}/archive`, {
        key: ADMIN_TOKEN,
      });
      expect(res.status).toBe(200);
    }
    return made.workspaceId;
  };
  let b = 0;
  /** A business with a key, fresh for every attempt (a rotation or revocation must not hide the next). */
  const freshBusiness = async () => {
    const id = `throwaway-${++b}`;
    await registerBusiness({
      ctx: operator(gw),
      input: { id, name: `Throwaway ${b}`, category: 'demo', adapter: { type: 'echo' } },
    });
    return id;
  };
  const operatorRoutes: Record<
    string,
    {
      method: 'GET' | 'POST' | 'DELETE';
      path: string | (() => Promise<string>);
      body?: () => unknown;
      ok: number;
    }
  > = {
    'POST /v1/admin/workspaces': {
      method: 'POST',
      path: '/v1/admin/workspaces',
      body: () => ({ name: 'Ops', adminEmail: 'ops@ops.test' }),
      ok: 201,
    },
    'POST /v1/admin/businesses': {
      method: 'POST',
      path: '/v1/admin/businesses',
      body: () => ({
        name: `Biz ${randomBytes(4).toString('hex')}`,
        category: 'demo',
        adapter: { type: 'echo' },
      }),
      ok: 201,
    },
    'GET /v1/admin/businesses': { method: 'GET', path: '/v1/admin/businesses', ok: 200 },
    'GET /v1/admin/workspaces': { method: 'GET', path: '/v1/admin/workspaces', ok: 200 },
    'POST /v1/admin/workspaces/:id/archive': {
      method: 'POST',
      path: async () => `/v1/admin/workspaces/${await freshWorkspace(false)}/archive`,
      ok: 200,
    },
    'POST /v1/admin/workspaces/:id/restore': {
      method: 'POST',
      path: async () => `/v1/admin/workspaces/${await freshWorkspace(true)}/restore`,
      ok: 200,
    },
    'DELETE /v1/admin/workspaces/:id': {
      method: 'DELETE',
      path: async () => `/v1/admin/workspaces/${await freshWorkspace(true)}`,
      body: () => ({ confirm: 'Throwaway' }),
      ok: 204,
    },
    'POST /v1/admin/businesses/:id/key/rotate': {
      method: 'POST',
      path: async () => `/v1/admin/businesses/${await freshBusiness()}/key/rotate`,
      ok: 201,
    },
    'DELETE /v1/admin/businesses/:id/key': {
      method: 'DELETE',
      path: async () => `/v1/admin/businesses/${await freshBusiness()}/key`,
      ok: 204,
    },
    'POST /v1/admin/businesses/:id/status': {
      method: 'POST',
      path: async () => `/v1/admin/businesses/${await freshBusiness()}/status`,
      body: () => ({ status: 'suspended' }),
      ok: 200,
    },
  };
  const names = Object.keys(operatorRoutes);
  const hitOperator = async (
    name: string,
    auth: { key?: string; headers?: Record<string, string> } = {},
    on = gw,
  ) => {
    const r = operatorRoutes[name];
    if (!r) throw new Error(`no route ${name}`);
    const path = typeof r.path === 'string' ? r.path : await r.path();
    return call(on, r.method, path, { ...auth, body: r.body?.() });
  };

  it.each(names)('%s answers the operator token', async (name) => {
    expect((await hitOperator(name, { key: ADMIN_TOKEN })).status).toBe(operatorRoutes[name]?.ok);
  });

  it.each(names)('%s without a token is 401 UNAUTHORIZED', async (name) => {
    expectError(await hitOperator(name), 401, 'UNAUTHORIZED');
  });

  it.each(names)('%s with a wrong token is 401', async (name) => {
    expectError(await hitOperator(name, { key: `${ADMIN_TOKEN}x` }), 401, 'UNAUTHORIZED');
    expectError(await hitOperator(name, { key: ADMIN_TOKEN.slice(0, -1) }), 401, 'UNAUTHORIZED');
  });

  it.each(names)('%s refuses a workspace admin token (401)', async (name) => {
    expectError(await hitOperator(name, { key: tenant.adminToken }), 401, 'UNAUTHORIZED');
  });

  it.each(names)('%s refuses an agent key (401)', async (name) => {
    expectError(await hitOperator(name, { key: tenant.agentKey }), 401, 'UNAUTHORIZED');
  });

  it.each(names)('%s refuses a business key (401)', async (name) => {
    expectError(await hitOperator(name, { key: businessKey }), 401, 'UNAUTHORIZED');
  });

  describe('with WARDEN_ADMIN_TOKEN unset', () => {
    let closed: TestGateway;
    beforeAll(async () => {
      closed = await startTestGateway({ env: { WARDEN_ADMIN_TOKEN: '' } });
    });
    afterAll(async () => {
      await closed.dispose();
    });

    // Not "a valid API key is required": the operator is told the API is off and how to turn it on.
    const disabled = /operator API is disabled.*set WARDEN_ADMIN_TOKEN.*restart/;
    it.each(names)('%s is closed to every token and says how to enable it', async (name) => {
      expectError(await hitOperator(name, {}, closed), 401, 'OPERATOR_API_DISABLED', disabled);
      expectError(
        await hitOperator(name, { key: ADMIN_TOKEN }, closed),
        401,
        'OPERATOR_API_DISABLED',
        disabled,
      );
      expectError(
        await hitOperator(name, { headers: { Authorization: 'Bearer ' } }, closed),
        401,
        'OPERATOR_API_DISABLED',
        disabled,
      );
    });
  });
});

describe('business routes', () => {
  const businessRoutes: Record<string, { method: string; path: string; body?: unknown; ok: number }> = {
    'GET /v1/business': { method: 'GET', path: '/v1/business', ok: 200 },
    'PATCH /v1/business': { method: 'PATCH', path: '/v1/business', body: { description: 'd' }, ok: 200 },
    'POST /v1/business/adapter/test': { method: 'POST', path: '/v1/business/adapter/test', ok: 200 },
    'POST /v1/business/signing-secret/rotate': {
      method: 'POST',
      path: '/v1/business/signing-secret/rotate',
      ok: 201,
    },
    'GET /v1/business/calls': { method: 'GET', path: '/v1/business/calls', ok: 200 },
  };
  const names = Object.keys(businessRoutes);
  const hitBusiness = (name: string, auth: { key?: string; headers?: Record<string, string> } = {}) => {
    const r = businessRoutes[name];
    if (!r) throw new Error(`no route ${name}`);
    return call(gw, r.method, r.path, { ...auth, body: r.body });
  };

  it.each(names)('%s answers the business key, in Authorization or X-API-Key', async (name) => {
    expect((await hitBusiness(name, { key: businessKey })).status).toBe(businessRoutes[name]?.ok);
    expect((await hitBusiness(name, { headers: { 'X-API-Key': businessKey } })).status).toBe(
      businessRoutes[name]?.ok,
    );
  });

  it.each(names)(
    '%s refuses agent keys, member tokens, the operator token and forged keys (401)',
    async (name) => {
      for (const key of [
        tenant.agentKey,
        tenant.adminToken,
        ADMIN_TOKEN,
        `wb_${randomBytes(32).toString('base64url')}`,
      ]) {
        expectError(await hitBusiness(name, { key }), 401, 'UNAUTHORIZED');
      }
      expectError(await hitBusiness(name), 401, 'UNAUTHORIZED');
    },
  );
});

/**
 * Every route the app serves is in this table, with who may call it: a route added without an entry
 * fails the first test below, and every member route gets the role matrix.
 */
type Who =
  | 'public'
  | 'agent'
  | 'operator'
  | 'business'
  /** The web console (issue 14): a session cookie; roles per page are in test/console. */
  | 'console'
  | readonly ('admin' | 'developer' | 'approver')[];
const ANY_MEMBER = ['admin', 'developer', 'approver'] as const;
const ROUTES: Record<string, Who> = {
  'GET /health': 'public',
  'GET /ready': 'public',
  // Open unless METRICS_TOKEN is set (test/metrics covers the token).
  'GET /metrics': 'public',
  'GET /.well-known/warden-keys': 'public',
  'GET /.well-known/http-message-signatures-directory': 'public',
  // Issue 22: Warden's OAuth authorization server; the consent page and client list are the console's.
  'GET /.well-known/oauth-protected-resource': 'public',
  'GET /.well-known/oauth-protected-resource/mcp': 'public',
  'GET /.well-known/oauth-authorization-server': 'public',
  'GET /oauth/authorize': 'public',
  'POST /oauth/token': 'public',
  'POST /oauth/revoke': 'public',
  'POST /oauth/register': 'public',
  'GET /console/oauth/authorize': 'console',
  'POST /console/oauth/authorize': 'console',
  'GET /console/oauth/clients': 'console',
  'POST /console/oauth/clients/revoke': 'console',
  'GET /openapi.json': 'public',
  'GET /docs': 'public',
  'GET /docs/assets/:file': 'public',
  'GET /approve/:token': 'public',
  'POST /approve/:token/decision': 'public',
  'POST /approve/:token/otp': 'public',
  'POST /agp/discover': 'agent',
  'POST /agp/query': 'agent',
  'POST /agp/execute/prepare': 'agent',
  'POST /agp/execute': 'agent',
  'GET /agp/status/:transactionId': 'agent',
  'GET /agp/businesses': 'agent',
  'GET /agp/receipts/:transactionId': 'agent',
  // Issue 20: the ledger log of the key's workspace.
  'GET /agp/ledger/checkpoint': 'agent',
  'GET /agp/ledger/consistency': 'agent',
  'POST /v1/evaluate': 'agent',
  'POST /v1/receipt': 'agent',
  'POST /mcp': 'agent',
  'GET /mcp': 'agent',
  'DELETE /mcp': 'agent',
  'POST /v1/admin/workspaces': 'operator',
  'POST /v1/admin/businesses': 'operator',
  'GET /v1/admin/businesses': 'operator',
  'GET /v1/admin/workspaces': 'operator',
  'POST /v1/admin/workspaces/:id/archive': 'operator',
  'POST /v1/admin/workspaces/:id/restore': 'operator',
  'DELETE /v1/admin/workspaces/:id': 'operator',
  'POST /v1/admin/businesses/:id/key/rotate': 'operator',
  'DELETE /v1/admin/businesses/:id/key': 'operator',
  'POST /v1/admin/businesses/:id/status': 'operator',
  // A business key (issue 12): its own business, nothing else.
  'GET /v1/business': 'business',
  'PATCH /v1/business': 'business',
  'PUT /v1/business/adapter': 'business',
  'POST /v1/business/adapter/test': 'business',
  'POST /v1/business/signing-secret/rotate': 'business',
  'GET /v1/business/calls': 'business',
  // The link token in the path is the credential (issue 11).
  'GET /invite/:token': 'public',
  'POST /invite/:token/accept': 'public',
  'POST /v1/keys': ['admin', 'developer'],
  'GET /v1/keys': ANY_MEMBER,
  'DELETE /v1/keys/:id': ['admin', 'developer'],
  'POST /v1/members': ['admin'],
  'GET /v1/members': ANY_MEMBER,
  'PATCH /v1/members/:id': ['admin'],
  'DELETE /v1/members/:id': ['admin'],
  // Another member's token: admins only; every member may rotate their own (members.test.ts).
  'POST /v1/members/:id/rotate-token': ['admin'],
  'POST /v1/invites': ['admin'],
  'GET /v1/invites': ['admin'],
  'DELETE /v1/invites/:id': ['admin'],
  'PUT /v1/policies/:name': ['admin'],
  'POST /v1/policies/validate': ANY_MEMBER,
  'GET /v1/policies': ANY_MEMBER,
  'GET /v1/policies/:name': ANY_MEMBER,
  'GET /v1/policies/:name/versions': ANY_MEMBER,
  'POST /v1/policies/:name/simulate': ANY_MEMBER,
  'GET /v1/transactions': ANY_MEMBER,
  'GET /v1/transactions/summary': ANY_MEMBER,
  'GET /v1/transactions/:id': ANY_MEMBER,
  'POST /v1/transactions/:id/resolve': ['admin'],
  // Issue 14: aggregates of the ledger every member reads; prices are configuration.
  'GET /v1/analytics': ANY_MEMBER,
  'GET /v1/pricing': ['admin', 'developer'],
  'PUT /v1/pricing': ['admin'],
  'GET /v1/audit': ['admin'],
  'GET /v1/audit/verify': ['admin'],
  // Issue 20: receipts and the ledger log are for every member, as the transactions are.
  'GET /v1/receipts/:transactionId': ANY_MEMBER,
  'GET /v1/ledger/checkpoint': ANY_MEMBER,
  'GET /v1/ledger/consistency': ANY_MEMBER,
  'GET /v1/ledger/entries': ANY_MEMBER,
  // The whole audit trail and every transaction, like GET /v1/audit: admins only (issue 14).
  'GET /v1/reports/compliance.zip': ['admin'],
  'GET /v1/approvals': ANY_MEMBER,
  'GET /v1/approvals/:id': ANY_MEMBER,
  'POST /v1/approvals/:id/approve': ANY_MEMBER,
  'POST /v1/approvals/:id/otp': ANY_MEMBER,
  'POST /v1/approvals/:id/reject': ANY_MEMBER,
  'POST /v1/webhooks': ['admin'],
  'POST /v1/webhooks/callback-secret': ['admin'],
  'GET /v1/webhooks': ANY_MEMBER,
  'DELETE /v1/webhooks/:id': ['admin'],
  // Issue 22: console single sign-on settings are the workspace admins'.
  'GET /v1/sso': ['admin'],
  'PUT /v1/sso': ['admin'],
  'DELETE /v1/sso': ['admin'],
  'GET /v1/webhooks/:id/deliveries': ANY_MEMBER,
  // Issue 23: Slack and Teams connections are the admins'; every member links their own Slack user.
  'GET /v1/channels': ['admin'],
  'PUT /v1/channels/slack': ['admin'],
  'PUT /v1/channels/teams': ['admin'],
  'DELETE /v1/channels/:kind': ['admin'],
  'PUT /v1/channels/slack/link': ANY_MEMBER,
  // Signed by Slack (the app's signing secret) or by the Git provider (the link's secret).
  'POST /v1/slack/interactions/:channelId': 'public',
  'POST /v1/git/push/:sourceId': 'public',
  // Issue 23, policy as code: admins link and sync, every member reads the link and dry-runs.
  'PUT /v1/policies/:name/source': ['admin'],
  'GET /v1/policies/:name/source': ANY_MEMBER,
  'DELETE /v1/policies/:name/source': ['admin'],
  'POST /v1/policies/:name/sync': ['admin'],
  'POST /v1/policies/:name/impact': ANY_MEMBER,
  // The console (issue 14): its assets and sign-in are public; the sign-in link is the credential.
  'GET /console/assets/:file': 'public',
  'GET /console/sign-in': 'public',
  'POST /console/sign-in/token': 'public',
  'POST /console/sign-in/email': 'public',
  'GET /console/sign-in/link/:token': 'public',
  'POST /console/sign-in/link/:token': 'public',
  // Issue 22: single sign-on starts from the sign-in page; the IdP's redirect carries state and code.
  'POST /console/sign-in/sso': 'public',
  'GET /console/sso/callback': 'public',
  'POST /console/sign-out': 'console',
  'POST /console/sign-out-everywhere': 'console',
  'GET /console': 'console',
  'GET /console/approvals': 'console',
  'GET /console/approvals/:id': 'console',
  'POST /console/approvals/:id/decision': 'console',
  'POST /console/approvals/:id/otp': 'console',
  'GET /console/transactions': 'console',
  'GET /console/transactions/:id': 'console',
  // Console pages of issue 14 items 4–6 (roles per page: test/console/admin-pages.test.ts).
  'GET /console/policy': 'console',
  'POST /console/policy/save': 'console',
  'POST /console/policy/validate': 'console',
  'POST /console/policy/simulate': 'console',
  'POST /console/policy/sync': 'console',
  'GET /console/keys': 'console',
  'POST /console/keys/create': 'console',
  'POST /console/keys/revoke': 'console',
  'GET /console/members': 'console',
  'POST /console/members/invite': 'console',
  'POST /console/members/invites/revoke': 'console',
  'POST /console/members/role': 'console',
  'POST /console/members/remove': 'console',
  'GET /console/webhooks': 'console',
  'POST /console/webhooks/create': 'console',
  'POST /console/webhooks/delete': 'console',
  // Issue 23: every member links their Slack user; admins connect Slack and Teams.
  'GET /console/integrations': 'console',
  'POST /console/integrations/slack-link': 'console',
  'POST /console/integrations/slack': 'console',
  'POST /console/integrations/teams': 'console',
  'POST /console/integrations/disconnect': 'console',
  'GET /console/businesses': 'console',
  'GET /console/help/policy': 'console',
  'GET /console/audit': 'console',
  'GET /console/sso': 'console',
  'POST /console/sso/save': 'console',
  'POST /console/sso/remove': 'console',
};

describe('every route of app.routes', () => {
  const served = () =>
    [...new Set(gw.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))].sort();

  it('is in the matrix (a new route must say who may call it), and the matrix has no stale entry', () => {
    expect(served()).toEqual(Object.keys(ROUTES).sort());
  });

  const concrete = (name: string) => {
    const [method = 'GET', pattern = '/'] = name.split(' ');
    const body = method === 'GET' ? undefined : {};
    return { method, path: pattern.replace(/:[A-Za-z]+/g, 'x_unknown'), body };
  };
  const protectedRoutes = Object.entries(ROUTES).filter(([, who]) => who !== 'public' && who !== 'console');
  const consoleRoutes = Object.entries(ROUTES).filter(([, who]) => who === 'console');

  it.each(consoleRoutes.map(([name]) => name))(
    '%s without a console session goes to sign in (303), whatever key is presented',
    async (name) => {
      const { method, path } = concrete(name);
      for (const key of [undefined, tenant.adminToken, tenant.agentKey, ADMIN_TOKEN]) {
        const res = await gw.app.request(path, {
          method,
          headers: key ? { Authorization: `Bearer ${key}` } : {},
        });
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toMatch(/^\/console\/sign-in\?/);
      }
    },
  );

  it.each(protectedRoutes.map(([name]) => name))(
    '%s refuses a request without credentials (401)',
    async (name) => {
      const { method, path, body } = concrete(name);
      expectError(await call(gw, method, path, { body }), 401, 'UNAUTHORIZED');
    },
  );

  it.each(protectedRoutes.map(([name]) => name))(
    '%s refuses every other kind of credential (401)',
    async (name) => {
      const { method, path, body } = concrete(name);
      const who = ROUTES[name];
      const others = [
        who === 'agent' ? undefined : tenant.agentKey,
        who === 'operator' ? undefined : ADMIN_TOKEN,
        Array.isArray(who) ? undefined : tenant.adminToken,
        who === 'business' ? undefined : businessKey,
        // An OAuth access token is an agent credential for its own resource only (issue 22).
        who === 'agent' && name.includes('/mcp') ? apiToken : undefined,
        who === 'agent' ? undefined : apiToken,
        who === 'agent' && !name.includes('/mcp') ? mcpToken : undefined,
        who === 'agent' ? undefined : mcpToken,
      ].filter((k): k is string => k !== undefined);
      for (const key of others) expectError(await call(gw, method, path, { key, body }), 401, 'UNAUTHORIZED');
    },
  );

  describe('member routes by role', () => {
    const tokens: Record<string, string> = {};
    beforeAll(async () => {
      tokens.admin = tenant.adminToken;
      for (const role of ['developer', 'approver'] as const) {
        const res = await call(gw, 'POST', '/v1/members', {
          key: tenant.adminToken,
          body: { email: `matrix-${role}@home.test`, role },
        });
        tokens[role] = res.body.token as string;
      }
    });
    const cases = Object.entries(ROUTES).flatMap(([name, who]) =>
      Array.isArray(who) ? ANY_MEMBER.map((role) => [name, role, who.includes(role)] as const) : [],
    );
    it.each(cases)('%s as %s (allowed: %s)', async (name, role, allowed) => {
      const { method, path, body } = concrete(name);
      const res = await call(gw, method, path, { key: tokens[role], body });
      if (allowed) expect([401, 403]).not.toContain(res.status);
      else expectError(res, 403, 'FORBIDDEN');
    });
  });
});
