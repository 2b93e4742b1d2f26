import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../process/spawn.ts';
import {
  call,
  createTenant,
  listen,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/** `warden mcp-stdio` as an MCP client launches it: the npm bin, driven over stdio by the SDK. */
function bridge(url: string, key: string): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: ['gateway/bin/warden.js', 'mcp-stdio', '--url', url, '--key', key],
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stderr: 'pipe',
  });
}

describe('warden mcp-stdio: the stdio bridge (issue 13, item 5)', () => {
  let gw: TestGateway;
  let server: { url: string; close: () => Promise<void> };
  let tenant: Tenant;
  const clients: Client[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    server = await listen(gw);
    await registerEcho(gw, 'echo');
    tenant = await createTenant(gw);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server.close();
    await gw.dispose();
  });

  it('lists the tools and executes through the bridge', async () => {
    const client = new Client({ name: 'warden-stdio-test', version: '1.0.0' });
    clients.push(client);
    await client.connect(bridge(server.url, tenant.agentKey));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['execute', 'discover']));

    const result = (await client.callTool({
      name: 'execute',
      arguments: { businessId: 'echo', request: { item: 'a book', amount_cents: 1200 } },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const body = result.structuredContent as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'succeeded', transactionId: expect.any(String) });

    const txn = await call(gw, 'GET', `/v1/transactions/${body.transactionId as string}`, {
      key: tenant.adminToken,
    });
    expect(txn.status).toBe(200);
    expect(txn.body).toMatchObject({ status: 'succeeded', mcp: { tool: 'execute' } });
  }, 30_000);

  it('a wrong key fails initialize with an error, not a hang', async () => {
    const client = new Client({ name: 'warden-stdio-test', version: '1.0.0' });
    clients.push(client);
    const connecting = client.connect(bridge(server.url, 'wk_not-a-real-key'), { timeout: 15_000 });
    await expect(connecting).rejects.toThrow(/401|UNAUTHORIZED/);
  }, 30_000);
});
