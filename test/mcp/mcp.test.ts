import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addAgentKey,
  call,
  createTenant,
  listen,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

const TOOLS = [
  'discover',
  'evaluate',
  'execute',
  'get_status',
  'list_businesses',
  'prepare_execute',
  'query',
];

/** The official SDK client over real HTTP (issue 13). */
async function connect(url: string, key: string): Promise<Client> {
  const client = new Client({ name: 'warden-test', version: '1.2.3' });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return client;
}

const structured = (result: unknown) =>
  (result as CallToolResult).structuredContent as Record<string, unknown>;

describe('MCP over Streamable HTTP (issue 13)', () => {
  let gw: TestGateway;
  let server: { url: string; close: () => Promise<void> };
  let tenant: Tenant;
  const clients: Client[] = [];
  const open = async (key = tenant.agentKey) => {
    const client = await connect(server.url, key);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gw = await startTestGateway({ env: { MCP_ALLOWED_ORIGINS: 'https://console.acme.test' } });
    server = await listen(gw);
    await registerEcho(gw, 'echo');
    await registerEcho(gw, 'echo-2');
    tenant = await createTenant(gw);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server.close();
    await gw.dispose();
  });

  it('lists the seven tools, each with a description and an input schema', async () => {
    const client = await open();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(40);
      expect(tool.inputSchema.type).toBe('object');
    }
    const execute = tools.find((t) => t.name === 'execute');
    expect(Object.keys(execute?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['businessId', 'request', 'confirmationToken', 'idempotencyKey']),
    );
    expect(execute?.description).toMatch(/prepare_execute/);
    expect(execute?.description).toMatch(/pending_approval/);
  });

  it('list_businesses pages; discover calls the business and records the MCP trace', async () => {
    const client = await open();
    const first = structured(await client.callTool({ name: 'list_businesses', arguments: { limit: 1 } }));
    expect(first.businesses).toEqual([expect.objectContaining({ id: 'echo', category: 'demo' })]);
    expect(first.nextCursor).toBe('echo');
    const second = structured(
      await client.callTool({ name: 'list_businesses', arguments: { limit: 1, cursor: 'echo' } }),
    );
    expect(second).toEqual({ businesses: [expect.objectContaining({ id: 'echo-2' })], nextCursor: null });

    const result = (await client.callTool({
      name: 'discover',
      arguments: { businessId: 'echo' },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const body = structured(result);
    expect(body).toMatchObject({
      status: 'succeeded',
      data: { business: { id: 'echo' } },
      page: { offset: 0, limit: 50, nextOffset: null, truncated: [] },
    });
    const txn = await call(gw, 'GET', `/v1/transactions/${body.transactionId}`, { key: tenant.adminToken });
    expect(txn.status).toBe(200);
    // The session (MCP_SESSIONS=memory) knows the client from `initialize`.
    expect(txn.body.mcp).toEqual({
      client: { name: 'warden-test', version: '1.2.3' },
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      tool: 'discover',
      requestId: expect.any(Number),
    });
  });

  it('a REST transaction has no MCP trace', async () => {
    const res = await call(gw, 'POST', '/agp/discover', {
      key: tenant.agentKey,
      body: { businessId: 'echo' },
    });
    const txn = await call(gw, 'GET', `/v1/transactions/${res.body.transactionId}`, {
      key: tenant.adminToken,
    });
    expect(txn.body.mcp).toBeNull();
  });

  it('a policy rejection is a tool error with the REST code, message and details', async () => {
    const other = await createTenant(gw, { name: 'Strictco' });
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: other.adminToken,
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
    const client = await open(other.agentKey);
    const result = (await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'a gift card', amount_cents: 100 } },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({
      code: 'POLICY_REJECTED',
      error: 'Gift cards are not allowed',
      details: { ruleId: 'no-gift-cards' },
    });
    // The code leads the text too: many clients hand only `content` to the model.
    expect(result.content).toEqual([{ type: 'text', text: 'POLICY_REJECTED: Gift cards are not allowed' }]);
  });

  it("every tool error names its code in the text content, the SDK's own refusals too", async () => {
    const reader = await createTenant(gw, { name: 'Codes', scopes: ['discover', 'query'] });
    const client = await open(reader.agentKey);
    const text = (result: unknown) => {
      const r = result as CallToolResult;
      expect(r.isError).toBe(true);
      const [first] = r.content;
      return first?.type === 'text' ? first.text : '';
    };
    const forbidden = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: {} },
    });
    expect(text(forbidden)).toBe('FORBIDDEN: This key does not have the execute scope.');
    const missing = await client.callTool({ name: 'get_status', arguments: { transactionId: 'txn_nope' } });
    expect(text(missing)).toMatch(/^TRANSACTION_NOT_FOUND: /);
    // Arguments the input schema refuses never reach a tool: the SDK answers, with a code now.
    const invalid = await client.callTool({ name: 'get_status', arguments: { transactionId: 42 } });
    expect(text(invalid)).toMatch(/^VALIDATION_ERROR: Input validation error: .*transactionId/s);
    expect((invalid as CallToolResult).structuredContent).toMatchObject({ code: 'VALIDATION_ERROR' });
    const unknown = await client.callTool({ name: 'buy_everything', arguments: {} });
    expect(text(unknown)).toBe('NOT_FOUND: Tool buy_everything not found');
  });

  it('execute declares an outputSchema like every tool, and its answers match it', async () => {
    const other = await createTenant(gw, { name: 'Shapes' });
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: other.adminToken,
      body: {
        rules: [
          {
            id: 'sofas-wait',
            conditions: [{ field: 'item', op: 'eq', value: 'sofa' }],
            action: 'require_approval',
          },
        ],
        routing_stages: [{ stage_index: 0, role: 'approver', tier: 'standard', quorum: 1 }],
      },
    });
    expect(put.status).toBe(201);
    const client = await open(other.agentKey);
    // listTools makes the SDK client check every later structuredContent against the tool's schema.
    const { tools } = await client.listTools();
    for (const tool of tools) expect(tool.outputSchema?.type, tool.name).toBe('object');
    const execute = tools.find((t) => t.name === 'execute');
    expect(Object.keys(execute?.outputSchema?.properties ?? {})).toEqual(
      expect.arrayContaining(['transactionId', 'status', 'data', 'receipt', 'approval', 'releaseAt']),
    );
    const done = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'tea' } },
    });
    expect(structured(done)).toMatchObject({ status: 'succeeded', receipt: expect.any(String) });
    const parked = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'sofa' } },
    });
    expect(structured(parked)).toMatchObject({
      status: 'pending_approval',
      approval: { id: expect.any(String) },
    });
  });

  it('a parked execute answers pending_approval; after approval get_status shows it succeeded', async () => {
    const other = await createTenant(gw, { name: 'Careful' });
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: other.adminToken,
      body: {
        rules: [
          {
            id: 'big-needs-a-person',
            priority: 1,
            conditions: [{ context: 'amount', op: 'gte', value: 10_000 }],
            action: 'require_approval',
            stage_index: 0,
          },
        ],
        routing_stages: [
          {
            stage_index: 0,
            role: 'approver',
            tier: 'standard',
            quorum: 1,
            approval_timeout_seconds: 3600,
            on_approval_timeout: 'reject',
          },
        ],
      },
    });
    expect(put.status).toBe(201);
    const approver = await call(gw, 'POST', '/v1/members', {
      key: other.adminToken,
      body: { email: 'approver@careful.test', role: 'approver' },
    });
    const client = await open(other.agentKey);
    const parked = structured(
      await client.callTool({
        name: 'execute',
        arguments: { businessId: 'echo', request: { item: 'sofa', amount_cents: 25_000 } },
      }),
    );
    expect(parked).toMatchObject({
      status: 'pending_approval',
      transactionId: expect.any(String),
      approval: { id: expect.any(String), stages: [expect.objectContaining({ role: 'approver' })] },
    });
    const transactionId = parked.transactionId as string;
    const approval = parked.approval as { id: string };
    const waiting = structured(await client.callTool({ name: 'get_status', arguments: { transactionId } }));
    expect(waiting.status).toBe('pending_approval');

    const vote = await call(gw, 'POST', `/v1/approvals/${approval.id}/approve`, {
      key: approver.body.token as string,
      body: {},
    });
    expect(vote.status).toBe(200);
    const done = structured(await client.callTool({ name: 'get_status', arguments: { transactionId } }));
    expect(done).toMatchObject({
      transactionId,
      status: 'succeeded',
      businessId: 'echo',
      operation: 'execute',
    });
    const txn = await call(gw, 'GET', `/v1/transactions/${transactionId}`, { key: other.adminToken });
    expect(txn.body.mcp).toMatchObject({ tool: 'execute' });
  });

  it('evaluate and query run through the same services', async () => {
    const client = await open();
    const evaluated = structured(
      await client.callTool({
        name: 'evaluate',
        arguments: { context: { agent_id: 'agent-1', payload_scope: { amount_cents: 100 } } },
      }),
    );
    expect(evaluated).toMatchObject({ status: 'auto_approved', evaluation_id: expect.any(String) });
    const queried = structured(
      await client.callTool({ name: 'query', arguments: { businessId: 'echo', request: { q: 'price' } } }),
    );
    expect(queried).toMatchObject({ status: 'succeeded', transactionId: expect.any(String) });
    const unknown = (await client.callTool({
      name: 'get_status',
      arguments: { transactionId: 'txn_unknown' },
    })) as CallToolResult;
    expect(unknown.isError).toBe(true);
    expect(unknown.structuredContent).toMatchObject({ code: 'TRANSACTION_NOT_FOUND' });
  });

  it('a key without the execute scope gets FORBIDDEN from execute, as on REST', async () => {
    const reader = await createTenant(gw, { name: 'Readers', scopes: ['discover', 'query'] });
    const client = await open(reader.agentKey);
    const result = (await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: {} },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a wrong key is refused with 401 before any MCP message is read', async () => {
    // The SDK's StreamableHTTPError carries the HTTP status and our JSON envelope.
    await expect(connect(server.url, 'wk_not-a-real-key')).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('UNAUTHORIZED'),
    });
    const res = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: '{"this is": not JSON',
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('an Origin outside MCP_ALLOWED_ORIGINS is 403; a listed one passes', async () => {
    const init = (origin: string) => ({
      method: 'POST',
      headers: {
        Authorization: `Bearer ${tenant.agentKey}`,
        Origin: origin,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    const evil = await fetch(`${server.url}/mcp`, init('https://evil.test'));
    expect(evil.status).toBe(403);
    expect(await evil.json()).toMatchObject({ code: 'FORBIDDEN' });
    const good = await fetch(`${server.url}/mcp`, init('https://console.acme.test'));
    expect(good.status).toBe(200);
    expect(good.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(await good.text()).toContain('"serverInfo"');
  });

  it('a session is bound to its key; DELETE ends it; GET without a session id is 400', async () => {
    const client = await open();
    await client.listTools();
    const transport = client.transport as StreamableHTTPClientTransport;
    const sessionId = transport.sessionId as string;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const list = (key: string) =>
      fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${key}`,
          'Mcp-Session-Id': sessionId,
          'Mcp-Protocol-Version': '2025-06-18',
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
      });
    // Another key of the same workspace cannot ride this session: it does not exist for that key.
    const otherKey = await addAgentKey(gw, tenant, 'agent-other');
    const stolen = await list(otherKey);
    expect(stolen.status).toBe(404);
    expect(await stolen.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
    expect((await list(tenant.agentKey)).status).toBe(200);

    const noId = await fetch(`${server.url}/mcp`, {
      headers: { Authorization: `Bearer ${tenant.agentKey}`, Accept: 'text/event-stream' },
    });
    expect(noId.status).toBe(400);
    expect(await noId.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });

    await transport.terminateSession();
    const ended = await list(tenant.agentKey);
    expect(ended.status).toBe(404);
  });
});

describe('MCP without sessions (MCP_SESSIONS=none)', () => {
  let gw: TestGateway;
  let server: { url: string; close: () => Promise<void> };
  let tenant: Tenant;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { MCP_SESSIONS: 'none' } });
    server = await listen(gw);
    await registerEcho(gw, 'echo');
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await server.close();
    await gw.dispose();
  });

  it('answers each POST in JSON with no session; the SDK client works as is', async () => {
    const res = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${tenant.agentKey}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.headers.get('mcp-session-id')).toBeNull();
    expect(await res.json()).toMatchObject({
      jsonrpc: '2.0',
      id: 1,
      result: { serverInfo: { name: 'warden' } },
    });

    const client = await connect(server.url, tenant.agentKey);
    const body = structured(await client.callTool({ name: 'discover', arguments: { businessId: 'echo' } }));
    const txn = await call(gw, 'GET', `/v1/transactions/${body.transactionId}`, { key: tenant.adminToken });
    // No session: this server never saw `initialize`, so the client is not known.
    expect(txn.body.mcp).toEqual({
      client: null,
      sessionId: null,
      tool: 'discover',
      requestId: expect.any(Number),
    });
    await client.close();
  });

  it('GET and DELETE are 405 JSON-RPC errors', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${server.url}/mcp`, {
        method,
        headers: { Authorization: `Bearer ${tenant.agentKey}` },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    }
  });
});

describe('MCP in confirm mode (DESIGN §4 execute modes)', () => {
  let gw: TestGateway;
  let server: { url: string; close: () => Promise<void> };
  let tenant: Tenant;
  let client: Client;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { AGENR_EXECUTE_POLICY: 'confirm' } });
    server = await listen(gw);
    await registerEcho(gw, 'echo');
    tenant = await createTenant(gw);
    client = await connect(server.url, tenant.agentKey);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
    await gw.dispose();
  });

  const request = { item: 'book', amount_cents: 50 };

  it('execute without a token is CONFIRMATION_REQUIRED, saying which tools to call (not a header)', async () => {
    const result = (await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    const said =
      'This execute needs a confirmation: call prepare_execute with the same arguments (businessId and request), then call execute again with the same arguments and its confirmationToken.';
    expect(result.structuredContent).toMatchObject({ code: 'CONFIRMATION_REQUIRED', error: said });
    expect(result.content).toEqual([{ type: 'text', text: `CONFIRMATION_REQUIRED: ${said}` }]);
    expect(JSON.stringify(result)).not.toMatch(/header/i);
    // REST keeps its normative message.
    const rest = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request },
    });
    expect(rest.body).toMatchObject({
      code: 'CONFIRMATION_REQUIRED',
      error: 'Execute confirmation required. Provide x-confirmation-token header.',
    });
  });

  it('prepare_execute then execute with the token succeeds, once', async () => {
    const prepared = structured(
      await client.callTool({ name: 'prepare_execute', arguments: { businessId: 'echo', request } }),
    );
    expect(prepared).toMatchObject({ confirmationToken: expect.any(String), expiresAt: expect.any(String) });
    const args = { businessId: 'echo', request, confirmationToken: prepared.confirmationToken };
    const executed = (await client.callTool({ name: 'execute', arguments: args })) as CallToolResult;
    expect(executed.isError).toBeFalsy();
    expect(executed.structuredContent).toMatchObject({
      status: 'succeeded',
      transactionId: expect.any(String),
    });
    const again = (await client.callTool({ name: 'execute', arguments: args })) as CallToolResult;
    expect(again.structuredContent).toMatchObject({ code: 'CONFIRMATION_INVALID' });
    expect(again.content).toEqual([
      { type: 'text', text: expect.stringMatching(/^CONFIRMATION_INVALID: .*call prepare_execute/) },
    ]);
  });
});
