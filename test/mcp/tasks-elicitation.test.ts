import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateTaskResultSchema } from '@modelcontextprotocol/sdk/experimental/tasks/types.js';
import {
  CallToolResultSchema,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../gateway/logger.ts';
import {
  call,
  createTenant,
  listen,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/** One approval stage for executes of 100.00 or more (DESIGN §6 routing stages). */
const PARKING_POLICY = {
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
};

type Elicit = (request: ElicitRequest) => Promise<ElicitResult>;

/** The SDK client over real HTTP, declaring the elicitation modes it can show, answering with `elicit`. */
async function connect(
  url: string,
  key: string,
  elicitation?: { modes: ('form' | 'url')[]; elicit: Elicit },
): Promise<Client> {
  const capabilities = elicitation
    ? { elicitation: Object.fromEntries(elicitation.modes.map((mode) => [mode, {}])) }
    : {};
  const client = new Client({ name: 'elicit-test', version: '0.1.0' }, { capabilities });
  if (elicitation) client.setRequestHandler(ElicitRequestSchema, (request) => elicitation.elicit(request));
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return client;
}

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('MCP tasks: a parked execute completes when people decide (issue 13, item 3)', () => {
  let gw: TestGateway;
  let server: { url: string; close: () => Promise<void> };
  let tenant: Tenant;
  let approverToken: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    server = await listen(gw);
    await registerEcho(gw, 'echo');
    tenant = await createTenant(gw);
    expect(
      (await call(gw, 'PUT', '/v1/policies/default', { key: tenant.adminToken, body: PARKING_POLICY }))
        .status,
    ).toBe(201);
    const approver = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'approver@acme.test', role: 'approver' },
    });
    approverToken = approver.body.token as string;
  });
  afterAll(async () => {
    await server.close();
    await gw.dispose();
  });

  const open = async () => {
    const client = await connect(server.url, tenant.agentKey);
    clients.push(client);
    return client;
  };

  it('execute as a task: working while parked, its id is the transaction, the result arrives after approval', async () => {
    const client = await open();
    const created = await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'execute',
          arguments: { businessId: 'echo', request: { item: 'sofa', amount_cents: 25_000 } },
          task: { ttl: 600_000 },
        },
      },
      CreateTaskResultSchema,
    );
    expect(created.task).toMatchObject({ status: 'working', pollInterval: expect.any(Number) });
    const taskId = created.task.taskId;
    const txn = await call(gw, 'GET', `/v1/transactions/${taskId}`, { key: tenant.adminToken });
    expect(txn.status).toBe(200);
    expect(txn.body).toMatchObject({ status: 'pending_approval', mcp: { tool: 'execute' } });

    // Another session (another replica would do the same: the task is the ledger's transaction).
    const other = await open();
    const seen = await other.experimental.tasks.getTask(taskId);
    expect(seen).toMatchObject({
      taskId,
      status: 'working',
      statusMessage: expect.stringMatching(/approve/),
    });

    // tasks/result waits while the task works; approving completes it with the business's answer.
    const result = client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    const status = await call(gw, 'GET', `/agp/status/${taskId}`, { key: tenant.agentKey });
    const approvalId = (status.body.approval as { id: string }).id;
    const vote = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, {
      key: approverToken,
      body: {},
    });
    expect(vote.status).toBe(200);
    const done = await result;
    expect(done.isError).toBeFalsy();
    expect(done.structuredContent).toMatchObject({
      transactionId: taskId,
      status: 'succeeded',
      businessId: 'echo',
    });
    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ status: 'completed' });
  }, 30_000);

  it('a rejected task fails with the rejection; a request that needs no one completes at once', async () => {
    const client = await open();
    const parked = await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'execute',
          arguments: { businessId: 'echo', request: { item: 'boat', amount_cents: 90_000 } },
          task: {},
        },
      },
      CreateTaskResultSchema,
    );
    const status = await call(gw, 'GET', `/agp/status/${parked.task.taskId}`, { key: tenant.agentKey });
    const approvalId = (status.body.approval as { id: string }).id;
    await call(gw, 'POST', `/v1/approvals/${approvalId}/reject`, {
      key: approverToken,
      body: { reason: 'no boats' },
    });
    const rejected = await client.experimental.tasks.getTaskResult(parked.task.taskId, CallToolResultSchema);
    expect(rejected.isError).toBe(true);
    expect(rejected.structuredContent).toMatchObject({ status: 'rejected', code: expect.any(String) });
    expect(await client.experimental.tasks.getTask(parked.task.taskId)).toMatchObject({ status: 'failed' });

    const small = await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'execute',
          arguments: { businessId: 'echo', request: { item: 'pen', amount_cents: 100 } },
          task: {},
        },
      },
      CreateTaskResultSchema,
    );
    expect(small.task.status).toBe('completed');
    const result = await client.experimental.tasks.getTaskResult(small.task.taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ transactionId: small.task.taskId, status: 'succeeded' });
  }, 30_000);

  it('a client that does not ask for a task gets pending_approval at once (never held until approval)', async () => {
    const client = await open();
    const started = Date.now();
    const result = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'car', amount_cents: 50_000 } },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.structuredContent).toMatchObject({
      status: 'pending_approval',
      transactionId: expect.any(String),
    });
  });

  it('a client that shows URL elicitations is pointed at the approval', async () => {
    const seen: ElicitRequest['params'][] = [];
    const client = await connect(server.url, tenant.agentKey, {
      modes: ['url'],
      elicit: async (request) => {
        seen.push(request.params);
        return { action: 'accept' };
      },
    });
    clients.push(client);
    const result = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'piano', amount_cents: 40_000 } },
    });
    const body = result.structuredContent as { status: string; approval: { id: string } };
    expect(body.status).toBe('pending_approval');
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toMatchObject({
      mode: 'url',
      elicitationId: body.approval.id,
      url: expect.stringMatching(new RegExp(`/console/approvals/${body.approval.id}$`)),
      message: expect.stringMatching(/approval/),
    });
  });
});

describe('MCP form elicitation in confirm mode (issue 13, item 3)', () => {
  let gw: TestGateway;
  let server: { url: string; close: () => Promise<void> };
  let tenant: Tenant;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { AGENR_EXECUTE_POLICY: 'confirm' } });
    server = await listen(gw);
    await registerEcho(gw, 'echo');
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await server.close();
    await gw.dispose();
  });

  const executes = async () => {
    const list = await call(gw, 'GET', '/v1/transactions?operation=execute&status=succeeded&limit=200', {
      key: tenant.adminToken,
    });
    return (list.body.transactions as { status: string }[]).filter((t) => t.status === 'succeeded').length;
  };

  it('the user confirms the prepared summary: the execute runs once without a token from the agent', async () => {
    const asked: ElicitRequest['params'][] = [];
    const client = await connect(server.url, tenant.agentKey, {
      modes: ['form'],
      elicit: async (request) => {
        asked.push(request.params);
        return { action: 'accept', content: { confirm: true } };
      },
    });
    clients.push(client);
    const before = await executes();
    const result = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'book', amount_cents: 1_250 } },
    });
    expect(result.structuredContent).toMatchObject({ status: 'succeeded' });
    expect(result.isError).toBeFalsy();
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ mode: 'form', message: expect.stringMatching(/Confirm/) });
    expect(JSON.stringify(asked[0])).toMatch(/1250|12\.50/);
    expect(await executes()).toBe(before + 1);
  });

  it('a declined confirmation executes nothing and answers CONFIRMATION_REQUIRED', async () => {
    const client = await connect(server.url, tenant.agentKey, {
      modes: ['form'],
      elicit: async () => ({ action: 'decline' }),
    });
    clients.push(client);
    const before = await executes();
    const result = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'lamp', amount_cents: 3_000 } },
    });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    expect(await executes()).toBe(before);
  });

  it('a client without elicitation gets CONFIRMATION_REQUIRED, as before', async () => {
    const client = await connect(server.url, tenant.agentKey);
    clients.push(client);
    const result = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'mug', amount_cents: 800 } },
    });
    expect(result.structuredContent).toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
  });
});

describe('MCP tool calls in the log (issue 13, item 4)', () => {
  let gw: TestGateway;
  let server: { url: string; close: () => Promise<void> };
  let tenant: Tenant;
  const lines: string[] = [];

  beforeAll(async () => {
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    gw = await startTestGateway({ logger });
    server = await listen(gw);
    await registerEcho(gw, 'echo');
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await server.close();
    await gw.dispose();
  });

  it('each tool call is one event naming the tool, JSON-RPC id, session, client and transaction; never the key', async () => {
    const client = await connect(server.url, tenant.agentKey);
    clients.push(client);
    const result = await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'pen', amount_cents: 100 } },
    });
    const transactionId = (result.structuredContent as { transactionId: string }).transactionId;
    await client.callTool({ name: 'discover', arguments: { businessId: 'nope' } });
    const calls = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'mcp tool call');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      workspace: tenant.workspaceId,
      agent: tenant.agentKeyId,
      transactionId,
      status: 'succeeded',
      mcp: {
        tool: 'execute',
        jsonRpcId: expect.any(Number),
        sessionId: expect.any(String),
        client: { name: 'elicit-test', version: '0.1.0' },
      },
      durationMs: expect.any(Number),
    });
    expect(calls[1]).toMatchObject({ mcp: { tool: 'discover' }, errorCode: 'BUSINESS_NOT_FOUND' });
    expect(lines.join('\n')).not.toContain(tenant.agentKey);
  });
});
