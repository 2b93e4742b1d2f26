import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, createTenant, startTestGateway, type TestGateway } from '../support/harness.ts';
import { expectError, issuePaths } from './envelope.ts';

/** DESIGN §5 operator API: workspaces and businesses, behind WARDEN_ADMIN_TOKEN. */

let gw: TestGateway;
let agentKey: string;

beforeAll(async () => {
  gw = await startTestGateway();
  agentKey = (await createTenant(gw)).agentKey;
});
afterAll(async () => {
  await gw.dispose();
});

const operator = (method: string, path: string, body?: unknown) =>
  call(gw, method, path, { key: ADMIN_TOKEN, body });

describe('POST /v1/admin/workspaces', () => {
  it('creates a workspace and returns its admin token once', async () => {
    const res = await operator('POST', '/v1/admin/workspaces', {
      name: 'Globex',
      adminEmail: 'Boss@Globex.test',
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['adminToken', 'workspace']);
    const workspace = res.body.workspace as Record<string, unknown>;
    expect(workspace).toEqual({ id: expect.stringMatching(/^ws_[0-9A-HJKMNP-TV-Z]{26}$/), name: 'Globex' });
    expect(typeof res.body.adminToken).toBe('string');
    expect((res.body.adminToken as string).length).toBeGreaterThanOrEqual(22); // ≥ 128 bits in base64url
    expect(res.headers.get('X-Request-Id')).toBeTruthy();
  });

  it('the admin token is a member token of the new workspace with the admin role', async () => {
    const res = await operator('POST', '/v1/admin/workspaces', {
      name: 'Initech',
      adminEmail: 'bill@initech.test',
    });
    const token = res.body.adminToken as string;

    const keys = await call(gw, 'GET', '/v1/keys', { key: token });
    expect(keys.status).toBe(200);
    expect(keys.body.keys).toEqual([]);

    const key = await call(gw, 'POST', '/v1/keys', { key: token, body: { agentId: 'bot' } });
    expect(key.status).toBe(201);
    // Only an admin may add members.
    const member = await call(gw, 'POST', '/v1/members', {
      key: token,
      body: { email: 'peter@initech.test', role: 'approver' },
    });
    expect(member.status).toBe(201);
    // Its email was taken by the admin member itself.
    expectError(
      await call(gw, 'POST', '/v1/members', {
        key: token,
        body: { email: 'BILL@initech.test', role: 'developer' },
      }),
      409,
      'CONFLICT',
    );
    // The admin token is not the operator token.
    expectError(await call(gw, 'GET', '/v1/admin/businesses', { key: token }), 401, 'UNAUTHORIZED');
  });

  it('two workspaces get distinct ids and tokens', async () => {
    const a = await operator('POST', '/v1/admin/workspaces', { name: 'Same', adminEmail: 'a@same.test' });
    const b = await operator('POST', '/v1/admin/workspaces', { name: 'Same', adminEmail: 'a@same.test' });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect((a.body.workspace as { id: string }).id).not.toBe((b.body.workspace as { id: string }).id);
    expect(a.body.adminToken).not.toBe(b.body.adminToken);
  });

  it.each([
    [{ adminEmail: 'x@y.test' }, 'name'],
    [{ name: '', adminEmail: 'x@y.test' }, 'name'],
    [{ name: 'X', adminEmail: 'not-an-email' }, 'adminEmail'],
    [{ name: 'X' }, 'adminEmail'],
  ])('refuses %j with 400 VALIDATION_ERROR naming %s', async (body, path) => {
    const res = await operator('POST', '/v1/admin/workspaces', body);
    expectError(res, 400, 'VALIDATION_ERROR');
    expect(issuePaths(res)).toContain(path);
  });
});

describe('POST /v1/admin/businesses', () => {
  it('registers a business and returns its signing secret once', async () => {
    const res = await operator('POST', '/v1/admin/businesses', {
      id: 'globex-shop',
      name: 'Globex Shop',
      category: 'retail',
      description: 'Everything for the evil genius.',
      adapter: { type: 'http', baseUrl: 'http://127.0.0.1:9/agp' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      business: {
        id: 'globex-shop',
        name: 'Globex Shop',
        category: 'retail',
        description: 'Everything for the evil genius.',
      },
      signingSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/),
      // Issue 12: the business's own API key, shown once.
      businessKey: expect.stringMatching(/^wb_[A-Za-z0-9_-]{43}$/),
    });
    // The adapter config (an upstream URL) is not echoed to callers.
    expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
  });

  it('the id defaults to a slug of the name', async () => {
    const res = await operator('POST', '/v1/admin/businesses', {
      name: 'Acme Travel Co.',
      category: 'travel',
      adapter: { type: 'echo' },
    });
    expect(res.status).toBe(201);
    expect(res.body.business).toEqual({
      id: 'acme-travel-co',
      name: 'Acme Travel Co.',
      category: 'travel',
      description: '',
    });
  });

  it('a taken id is 409 CONFLICT, whether given or derived, and the first business is unchanged', async () => {
    expectError(
      await operator('POST', '/v1/admin/businesses', {
        name: 'Acme Travel Co.',
        category: 'other',
        adapter: { type: 'echo' },
      }),
      409,
      'CONFLICT',
      /acme-travel-co/,
    );
    expectError(
      await operator('POST', '/v1/admin/businesses', {
        id: 'acme-travel-co',
        name: 'Something else',
        category: 'other',
        adapter: { type: 'echo' },
      }),
      409,
      'CONFLICT',
    );
    const listed = await operator('GET', '/v1/admin/businesses');
    const acme = (listed.body.businesses as { id: string; category: string }[]).filter(
      (b) => b.id === 'acme-travel-co',
    );
    expect(acme).toEqual([expect.objectContaining({ category: 'travel', name: 'Acme Travel Co.' })]);
  });

  const valid = { name: 'Valid', category: 'demo' };
  it.each([
    ['an unknown adapter type', { ...valid, adapter: { type: 'ftp' } }, 'adapter.type'],
    ['no adapter', { ...valid }, 'adapter'],
    [
      'a baseUrl that is not a URL',
      { ...valid, adapter: { type: 'http', baseUrl: 'not a url' } },
      'adapter.baseUrl',
    ],
    [
      'a non-http baseUrl',
      { ...valid, adapter: { type: 'http', baseUrl: 'file:///etc/passwd' } },
      'adapter.baseUrl',
    ],
    ['a missing baseUrl', { ...valid, adapter: { type: 'http' } }, 'adapter.baseUrl'],
    [
      'an extra adapter key',
      { ...valid, adapter: { type: 'http', baseUrl: 'http://127.0.0.1:9', secret: 'x' } },
      'adapter',
    ],
    ['an extra key on echo', { ...valid, adapter: { type: 'echo', url: 'http://x.test' } }, 'adapter'],
    [
      'a bad operation override',
      {
        ...valid,
        adapter: {
          type: 'http',
          baseUrl: 'http://127.0.0.1:9',
          operations: { execute: { method: 'GET', path: 'x' } },
        },
      },
      'adapter.operations.execute.path',
    ],
    ['an uppercase id', { ...valid, id: 'Not-A-Slug', adapter: { type: 'echo' } }, 'id'],
    ['an extra top-level key', { ...valid, adapter: { type: 'echo' }, signingSecret: 'mine' }, ''],
    ['no category', { name: 'X', adapter: { type: 'echo' } }, 'category'],
  ])('refuses %s with 400 VALIDATION_ERROR and the path in details', async (_what, body, path) => {
    const res = await operator('POST', '/v1/admin/businesses', body);
    expectError(res, 400, 'VALIDATION_ERROR');
    const paths = issuePaths(res);
    expect(paths.some((p) => p === path || p.startsWith(`${path}.`))).toBe(true);
    for (const issue of res.body.details as { message: unknown }[])
      expect(typeof issue.message).toBe('string');
  });

  it('a module adapter that is not installed is refused with its path', async () => {
    const res = await operator('POST', '/v1/admin/businesses', {
      ...valid,
      adapter: { type: 'module', name: 'nope' },
    });
    expectError(res, 400, 'VALIDATION_ERROR');
    expect(issuePaths(res)).toContain('adapter.name');
  });

  it('a name that gives no slug needs an explicit id', async () => {
    const res = await operator('POST', '/v1/admin/businesses', {
      name: '!!!',
      category: 'x',
      adapter: { type: 'echo' },
    });
    expectError(res, 400, 'VALIDATION_ERROR');
  });

  it('nothing refused was registered', async () => {
    const listed = await operator('GET', '/v1/admin/businesses');
    const names = (listed.body.businesses as { name: string }[]).map((b) => b.name);
    expect(names).not.toContain('Valid');
    expect(names).not.toContain('Something else');
  });
});

describe('listing businesses', () => {
  beforeAll(async () => {
    for (const b of [
      {
        id: 'sunny-flights',
        name: 'Sunny Flights',
        category: 'travel',
        description: 'Cheap flights to the sun.',
      },
      { id: 'rail-co', name: 'Rail Co', category: 'travel', description: 'Trains across Europe.' },
      { id: 'bean-bar', name: 'Bean Bar', category: 'food', description: 'Coffee and sunny pastries.' },
      { id: 'pct-shop', name: '100% Shop', category: 'retail', description: 'Under_score sale.' },
    ]) {
      const res = await operator('POST', '/v1/admin/businesses', { ...b, adapter: { type: 'echo' } });
      expect(res.status).toBe(201);
    }
  });

  it('GET /v1/admin/businesses lists every business without signing secrets or adapter config', async () => {
    const res = await operator('GET', '/v1/admin/businesses');
    expect(res.status).toBe(200);
    const businesses = res.body.businesses as Record<string, unknown>[];
    expect(businesses.map((b) => b.id)).toEqual(
      expect.arrayContaining(['sunny-flights', 'rail-co', 'bean-bar', 'globex-shop']),
    );
    for (const b of businesses)
      expect(Object.keys(b).sort()).toEqual([
        'breaker',
        'category',
        'description',
        'id',
        'name',
        'sandboxWorkspaces',
        'status',
      ]);
    expect(JSON.stringify(res.body)).not.toMatch(/whsec_|signingSecret|baseUrl|adapter/);
  });

  const ids = async (query: string) => {
    const res = await call(gw, 'GET', `/agp/businesses${query}`, { key: agentKey });
    expect(res.status).toBe(200);
    const businesses = res.body.businesses as Record<string, unknown>[];
    for (const b of businesses)
      expect(Object.keys(b).sort()).toEqual(['category', 'description', 'id', 'name']);
    return businesses.map((b) => b.id as string).sort();
  };

  it('GET /agp/businesses filters by category', async () => {
    expect(await ids('?category=travel')).toEqual(['acme-travel-co', 'rail-co', 'sunny-flights']);
    expect(await ids('?category=food')).toEqual(['bean-bar']);
    expect(await ids('?category=nothing-here')).toEqual([]);
  });

  it('GET /agp/businesses searches name and description with q', async () => {
    expect(await ids('?q=sunny')).toEqual(['bean-bar', 'sunny-flights']);
    expect(await ids('?q=Rail')).toEqual(['rail-co']);
    expect(await ids('?q=zzz-none')).toEqual([]);
  });

  it('category and q combine', async () => {
    expect(await ids('?category=travel&q=sunny')).toEqual(['sunny-flights']);
    expect(await ids('?category=food&q=flights')).toEqual([]);
  });

  it('LIKE wildcards in q are taken literally', async () => {
    expect(await ids('?q=%25')).toEqual(['pct-shop']);
    expect(await ids('?q=_score')).toEqual(['pct-shop']);
    expect((await ids('?q=_')).length).toBe(1);
  });

  it('no filter lists them all', async () => {
    const all = await ids('');
    expect(all).toEqual(
      expect.arrayContaining([
        'acme-travel-co',
        'bean-bar',
        'globex-shop',
        'pct-shop',
        'rail-co',
        'sunny-flights',
      ]),
    );
  });

  it('an over-long q is a 400 VALIDATION_ERROR naming q', async () => {
    const res = await call(gw, 'GET', `/agp/businesses?q=${'a'.repeat(201)}`, { key: agentKey });
    expectError(res, 400, 'VALIDATION_ERROR');
    expect(issuePaths(res)).toContain('q');
  });
});
