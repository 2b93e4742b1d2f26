import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { registerBusiness } from '../../gateway/services/tenancy/businesses.ts';
import { expectError, issuePaths } from '../api/envelope.ts';
import { form, open, page, signIn } from '../console/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  listen,
  operator,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/**
 * Issue 18: PostgreSQL refuses U+0000 in text and jsonb, so a NUL that reached the database was a 500
 * there (and a 400 or 404 on SQLite). The edge (middleware/storable-text) refuses it in every path,
 * query, header and body field with 400 VALIDATION_ERROR naming the field, on both dialects, and the
 * agent's request (stored as JSON text) keeps it as sent.
 */
const NUL = 'a\u0000b';

describe.each(DIALECTS)('text no store keeps, on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let businessKey = '';
  let cookie = '';

  beforeAll(async () => {
    // MCP_SESSIONS=none: each POST /mcp is a whole exchange.
    gw = await startTestGateway({ dialect, env: { MCP_SESSIONS: 'none' } });
    tenant = await createTenant(gw);
    await registerEcho(gw);
    ({ businessKey } = await registerBusiness({
      ctx: operator(gw),
      input: { id: 'shop', name: 'Shop', category: 'retail', adapter: { type: 'echo' } },
    }));
    cookie = await signIn(gw, tenant.adminToken);
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  const refused = async (res: Awaited<ReturnType<typeof call>>, path: string, where: string) => {
    expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBe(400);
    expectError(res, 400, 'VALIDATION_ERROR');
    expect(issuePaths(res), where).toEqual([path]);
    expect((res.body.details as { message: string }[])[0]?.message).toMatch(/NUL|surrogate/);
  };

  it('an id in the path with a NUL is 400 naming the parameter', async () => {
    const agent = tenant.agentKey;
    const admin = tenant.adminToken;
    const cases: [string, string, string | undefined, string, unknown?][] = [
      ['GET', '/agp/status/txn_%00', agent, 'transactionId'],
      ['GET', '/agp/receipts/txn_%00', agent, 'transactionId'],
      ['GET', '/v1/transactions/txn_%00', admin, 'id'],
      ['POST', '/v1/transactions/txn_%00/resolve', admin, 'id', { status: 'succeeded', reason: 'x' }],
      ['GET', '/v1/approvals/apr_%00', admin, 'id'],
      ['POST', '/v1/approvals/apr_%00/approve', admin, 'id', {}],
      ['POST', '/v1/approvals/apr_%00/reject', admin, 'id', {}],
      ['DELETE', '/v1/keys/key_%00', admin, 'id'],
      ['DELETE', '/v1/webhooks/wh_%00', admin, 'id'],
      ['GET', '/v1/webhooks/wh_%00/deliveries', admin, 'id'],
      ['PATCH', '/v1/members/mem_%00', admin, 'id', { role: 'admin' }],
      ['DELETE', '/v1/members/mem_%00', admin, 'id'],
      ['POST', '/v1/members/mem_%00/rotate-token', admin, 'id'],
      ['DELETE', '/v1/invites/inv_%00', admin, 'id'],
      ['GET', '/invite/inv_%00', undefined, 'token'],
      ['POST', '/invite/inv_%00/accept', undefined, 'token', {}],
      ['GET', '/v1/policies/a%00b', admin, 'name'],
      ['PUT', '/v1/policies/a%00b', admin, 'name', { rules: [] }],
      ['POST', '/v1/admin/workspaces/ws_%00/archive', ADMIN_TOKEN, 'id'],
      ['DELETE', '/v1/admin/workspaces/ws_%00', ADMIN_TOKEN, 'id', { confirm: 'x' }],
      ['POST', '/v1/admin/businesses/b%00/status', ADMIN_TOKEN, 'id', { status: 'live' }],
      ['POST', '/v1/admin/businesses/b%00/key/rotate', ADMIN_TOKEN, 'id'],
    ];
    for (const [method, path, key, param, body] of cases) {
      await refused(await call(gw, method, path, { key, body }), `path.${param}`, `${method} ${path}`);
    }
  });

  it('a filter in the query with a NUL is 400 naming the parameter', async () => {
    const cases: [string, string, string][] = [
      ['/v1/audit?actor=%00', tenant.adminToken, 'actor'],
      ['/v1/audit?action=a%00', tenant.adminToken, 'action'],
      ['/v1/audit?target=%00', tenant.adminToken, 'target'],
      ['/v1/audit?cursor=%00', tenant.adminToken, 'cursor'],
      ['/agp/businesses?q=%00', tenant.agentKey, 'q'],
      ['/agp/businesses?category=%00', tenant.agentKey, 'category'],
      ['/v1/transactions?agentId=%00', tenant.adminToken, 'agentId'],
      ['/v1/transactions?businessId=%00', tenant.adminToken, 'businessId'],
      ['/v1/transactions?cursor=%00', tenant.adminToken, 'cursor'],
      ['/v1/transactions/summary?policy=%00', tenant.adminToken, 'policy'],
      ['/v1/business/calls?cursor=%00', businessKey, 'cursor'],
    ];
    for (const [path, key, param] of cases) {
      await refused(await call(gw, 'GET', path, { key }), `query.${param}`, path);
    }
  });

  it('a text field of a body with a NUL (or a lone surrogate) is 400 naming the field', async () => {
    const admin = tenant.adminToken;
    const agent = tenant.agentKey;
    const scope = { agent_id: 'agent-1', payload_scope: {} };
    const cases: [string, string, string, unknown, string][] = [
      ['POST', '/v1/keys', admin, { agentId: NUL }, 'agentId'],
      ['POST', '/v1/keys', admin, { agentId: 'x', policy: NUL }, 'policy'],
      ['POST', '/v1/keys', admin, { agentId: 'x', [NUL]: 1 }, NUL],
      ['POST', '/v1/members', admin, { email: `a${NUL}@acme.test`, role: 'admin' }, 'email'],
      ['POST', '/v1/invites', admin, { email: `a${NUL}@acme.test`, role: 'admin' }, 'email'],
      ['POST', '/v1/admin/workspaces', ADMIN_TOKEN, { name: NUL, adminEmail: 'a@acme.test' }, 'name'],
      [
        'POST',
        '/v1/admin/businesses',
        ADMIN_TOKEN,
        { name: NUL, category: 'x', adapter: { type: 'echo' } },
        'name',
      ],
      [
        'POST',
        '/v1/admin/businesses',
        ADMIN_TOKEN,
        { name: 'x', category: NUL, adapter: { type: 'echo' } },
        'category',
      ],
      ['PATCH', '/v1/business', businessKey, { description: NUL }, 'description'],
      [
        'PUT',
        '/v1/business/adapter',
        businessKey,
        { type: 'http', baseUrl: `https://x.test/${NUL}` },
        'baseUrl',
      ],
      [
        'POST',
        '/v1/webhooks',
        admin,
        { url: `https://example.com/${NUL}`, events: ['approval.decided'] },
        'url',
      ],
      ['POST', '/agp/discover', agent, { businessId: NUL }, 'businessId'],
      ['POST', '/agp/execute', agent, { businessId: NUL, request: {} }, 'businessId'],
      ['POST', '/v1/evaluate', agent, { context: { ...scope, agent_id: NUL } }, 'context.agent_id'],
      [
        'POST',
        '/v1/evaluate',
        agent,
        { context: scope, webhook_url: `https://example.com/${NUL}` },
        'webhook_url',
      ],
      ['POST', '/v1/evaluate', agent, { context: scope, policy_name: NUL }, 'policy_name'],
      ['POST', '/v1/receipt', agent, { evaluation_id: NUL, status: 'succeeded' }, 'evaluation_id'],
      [
        'POST',
        '/v1/policies/default/simulate',
        admin,
        { businessId: 'echo', agentId: NUL, request: {} },
        'agentId',
      ],
      ['POST', '/v1/approvals/apr_x/reject', admin, { reason: NUL }, 'reason'],
      [
        'PUT',
        '/v1/policies/default',
        admin,
        {
          rules: [
            { id: 'r', conditions: [{ field: 'sku', op: 'eq', value: 'z' }], action: 'reject', reason: NUL },
          ],
        },
        'rules.0.reason',
      ],
    ];
    for (const [method, path, key, body, field] of cases) {
      await refused(
        await call(gw, method, path, { key, body }),
        `body.${field}`,
        `${method} ${path} ${field}`,
      );
    }
    // JSON can spell a lone surrogate; UTF-8 cannot store it (a driver would write U+FFFD instead).
    const surrogate = await call(gw, 'POST', '/v1/keys', {
      key: admin,
      rawBody: '{"agentId":"x\\ud800"}',
      headers: { 'Content-Type': 'application/json' },
    });
    await refused(surrogate, 'body.agentId', 'lone surrogate');
  });

  it('the MCP tools refuse them too, as a JSON-RPC error naming the argument', async () => {
    for (const [args, field] of [
      [{ businessId: NUL, request: {} }, 'businessId'],
      [{ businessId: 'echo', request: {}, idempotencyKey: NUL }, 'idempotencyKey'],
    ] as const) {
      const res = await gw.app.request('/mcp', {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${tenant.agentKey}`,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'execute', arguments: args },
        }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        jsonrpc: '2.0',
        error: {
          code: -32600,
          data: { code: 'VALIDATION_ERROR', details: [{ path: `body.params.arguments.${field}` }] },
        },
        id: null,
      });
    }
  });

  it('control characters are stored and read back exactly, as any other text', async () => {
    const agentId = 'tab\t lf\n esc\u001b del\u007f c1\u0085';
    const created = await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId } });
    expect(created.status).toBe(201);
    const keys = await call(gw, 'GET', '/v1/keys', { key: tenant.adminToken });
    expect((keys.body.keys as { agentId: string }[]).map((k) => k.agentId)).toContain(agentId);
    const filtered = await call(gw, 'GET', `/v1/audit?target=${encodeURIComponent(agentId)}`, {
      key: tenant.adminToken,
    });
    expect(filtered.status).toBe(200);
  });

  it('a NUL inside an agent request (stored as JSON text) is taken end to end and reads back', async () => {
    const request = { sku: NUL, note: `x${NUL}`, [NUL]: [NUL], amount_cents: 50 };
    const executed = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request },
      headers: { 'Idempotency-Key': 'nul-1' },
    });
    expect(executed.status, JSON.stringify(executed.body)).toBe(200);
    const id = executed.body.transactionId as string;
    expect(executed.body.data).toMatchObject({ sku: NUL, note: `x${NUL}` });
    const read = await call(gw, 'GET', `/v1/transactions/${id}`, { key: tenant.adminToken });
    expect(read.body.request).toEqual(request);
    expect((await call(gw, 'GET', `/agp/status/${id}`, { key: tenant.agentKey })).status).toBe(200);
    // The replay reads the stored answer back too.
    const replay = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request },
      headers: { 'Idempotency-Key': 'nul-1' },
    });
    expect(replay.body.transactionId).toBe(id);

    // Stored as the JSON text written (the escape is six ASCII characters), not as jsonb.
    const [row] = await gw.db.reader.all(sql('SELECT request FROM transactions WHERE id = ?'), [id]);
    expect(row?.[0]).toBe(JSON.stringify(request));
    expect(row?.[0]).toContain('\\u0000');
    if (dialect === 'postgres') {
      // Why it must stay text: jsonb refuses the very same JSON.
      await expect(
        gw.db.reader.all(sql('SELECT CAST(request AS jsonb) FROM transactions WHERE id = ?'), [id]),
      ).rejects.toThrow(/unsupported Unicode escape sequence/);
    }

    // Query, and prepare, whose summary quotes the request into a text column (U+FFFD stands in).
    const queried = await call(gw, 'POST', '/agp/query', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request: { sku: NUL } },
    });
    expect(queried.status).toBe(200);
    const prepared = await call(gw, 'POST', '/agp/execute/prepare', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request: { sku: NUL } },
    });
    expect(prepared.status, JSON.stringify(prepared.body)).toBe(200);
    expect(prepared.body.summary).toBe('echo: 1 × a\uFFFDb');

    // An evaluation's payload_scope, and the data of its receipt.
    const evaluated = await call(gw, 'POST', '/v1/evaluate', {
      key: tenant.agentKey,
      body: { context: { agent_id: 'agent-1', payload_scope: { note: NUL, amount_cents: 10 } } },
    });
    expect(evaluated.status, JSON.stringify(evaluated.body)).toBe(200);
    const evaluationId = evaluated.body.evaluation_id as string;
    const receipt = await call(gw, 'POST', '/v1/receipt', {
      key: tenant.agentKey,
      body: { evaluation_id: evaluationId, status: 'succeeded', data: { ref: NUL } },
    });
    expect(receipt.status, JSON.stringify(receipt.body)).toBe(201);
    const evaluation = await call(gw, 'GET', `/v1/transactions/${evaluationId}`, { key: tenant.adminToken });
    expect(evaluation.body).toMatchObject({ request: { note: NUL, amount_cents: 10 }, data: { ref: NUL } });

    // Over MCP, the same tool arguments.
    const mcp = await gw.app.request('/mcp', {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${tenant.agentKey}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'execute', arguments: { businessId: 'echo', request: { sku: NUL } } },
      }),
    });
    expect(mcp.status).toBe(200);
    const answer = (await mcp.json()) as {
      result: { isError?: boolean; structuredContent: { status: string } };
    };
    expect(answer.result.isError ?? false).toBe(false);
    expect(answer.result.structuredContent.status).toBe('succeeded');

    // The workspace's reports still read every decision (PostgreSQL casts them to jsonb).
    expect((await call(gw, 'GET', '/v1/analytics', { key: tenant.adminToken })).status).toBe(200);
  });

  it('console pages and forms answer a readable 400 page naming the field, never 5xx', async () => {
    const pages: [string, string][] = [
      ['/console/transactions/txn_%00', 'path.id'],
      ['/console/approvals/apr_%00', 'path.id'],
      ['/console/transactions?agent=%00', 'query.agent'],
      ['/console/transactions?business=a%00', 'query.business'],
      ['/console/audit?cursor=%00', 'query.cursor'],
      ['/console/policy?name=%00', 'query.name'],
      ['/console/sign-in/link/wcl_%00', 'path.token'],
      ['/console/assets/app%00.css', 'path.file'],
      ['/console/nothing-here/%00', 'path'],
    ];
    const expectPage = async (res: Response, field: string, where: string) => {
      expect(res.status, where).toBe(400);
      expect(res.headers.get('Content-Type') ?? '', where).toMatch(/^text\/html/);
      expect(res.headers.get('Content-Security-Policy'), where).toMatch(/default-src 'none'/);
      const html = await res.text();
      expect(html, where).toContain('cannot be stored');
      expect(html, where).toContain(field);
    };
    for (const [path, field] of pages) await expectPage(await page(gw, path, cookie), field, path);

    const { csrf } = await open(gw, '/console/keys', cookie);
    const forms: [string, Record<string, string>, string][] = [
      ['/console/keys/create', { csrf, agentId: NUL }, 'body.agentId'],
      ['/console/keys/revoke', { csrf, id: NUL }, 'body.id'],
      ['/console/webhooks/create', { csrf, url: `https://example.com/${NUL}` }, 'body.url'],
      ['/console/members/invite', { csrf, email: `a${NUL}@acme.test`, role: 'admin' }, 'body.email'],
      [
        '/console/policy/save',
        { csrf, name: 'default', document: `{"rules":[],"x":"${NUL}"}` },
        'body.document',
      ],
      ['/console/sign-in/token', { token: NUL }, 'body.token'],
      ['/console/sign-in/email', { email: `a${NUL}@acme.test` }, 'body.email'],
    ];
    for (const [path, fields, field] of forms) {
      await expectPage(await form(gw, path, fields, { cookie }), field, path);
    }
  });

  it('the emailed approval page answers a readable 400 page too', async () => {
    const res = await gw.app.request('/approve/wal_%00');
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type') ?? '').toMatch(/^text\/html/);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.text()).toContain('path.token');
  });

  it('a header with a NUL never reaches a route: 400 VALIDATION_ERROR as JSON', async () => {
    // Node's parser refuses it (RFC 9110 §5.5); the middleware holds the line on other hosts.
    const server = await listen(gw);
    try {
      const { port } = new URL(server.url);
      const answer = await new Promise<string>((resolve, reject) => {
        // Written, not ended: the server closes the connection once it has answered.
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            `POST /agp/execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tenant.agentKey}\r\n` +
              'Idempotency-Key: a\u0000b\r\nContent-Type: application/json\r\nContent-Length: 2\r\n' +
              'Connection: close\r\n\r\n{}',
          );
        });
        let text = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toMatch(/content-type: application\/json/i);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
        code: 'VALIDATION_ERROR',
      });
    } finally {
      await server.close();
    }
  });
});
