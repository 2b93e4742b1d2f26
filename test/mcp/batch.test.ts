import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createTenant,
  listen,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

/**
 * Issue 18 item 4: one POST of a JSON-RPC batch of 100 `tools/call` counted once against
 * RATE_LIMIT_PER_MINUTE and ran all 100. MCP 2025-06-18 removed JSON-RPC batching, so the gateway
 * refuses a batch whole (HTTP 400, JSON-RPC -32600, as the SDK refuses an oversized one): nothing
 * in it runs, and the executes are counted where they would land, at a real business.
 */
const LIMIT = 5;

const toolsCall = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: {
    name: 'execute',
    arguments: { businessId: 'shop', request: { item: 'pen', amount_cents: 1, id } },
  },
});
const batchOf = (n: number) => Array.from({ length: n }, (_, i) => toolsCall(i + 1));

async function post(url: string, key: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${key}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

for (const sessions of ['memory', 'none'] as const) {
  describe(`MCP JSON-RPC batches (MCP_SESSIONS=${sessions})`, () => {
    let gw: TestGateway;
    let server: { url: string; close: () => Promise<void> };
    let upstream: Upstream;
    let tenant: Tenant;
    /** Headers that put a raw POST in an initialized session (none needed without sessions). */
    let sessionHeaders: Record<string, string> = {};
    let client: Client | undefined;

    beforeAll(async () => {
      upstream = await startUpstream();
      // The harness's manual clock: every request falls in one rate-limit minute.
      gw = await startTestGateway({
        env: { RATE_LIMIT_PER_MINUTE: String(LIMIT), MCP_SESSIONS: sessions },
      });
      server = await listen(gw);
      await registerHttpBusiness(gw, upstream.url, 'shop');
      tenant = await createTenant(gw);
      if (sessions === 'memory') {
        client = new Client({ name: 'batcher', version: '1.0.0' });
        const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${tenant.agentKey}` } },
        });
        await client.connect(transport); // initialize + initialized: 2 of the minute's requests
        sessionHeaders = {
          'Mcp-Session-Id': transport.sessionId as string,
          'Mcp-Protocol-Version': transport.protocolVersion ?? '2025-06-18',
        };
      }
    });
    afterAll(async () => {
      await client?.close();
      await server.close();
      await gw.dispose();
      await upstream.close();
    });

    it('a batch of 100 tools/call is refused whole: 400 -32600, nothing reaches the business', async () => {
      const res = await post(server.url, tenant.agentKey, batchOf(100), sessionHeaders);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.json()).toEqual({
        jsonrpc: '2.0',
        error: { code: -32600, message: expect.stringMatching(/^Invalid Request: .*batch/i) },
        id: null,
      });
      // A batch of one, and an empty one, are batches too.
      for (const body of [batchOf(1), []]) {
        const again = await post(server.url, tenant.agentKey, body, sessionHeaders);
        expect(again.status).toBe(400);
        expect(await again.json()).toMatchObject({ error: { code: -32600 } });
      }
      expect(upstream.requests).toHaveLength(0);
      const ledger = await call(gw, 'GET', '/v1/transactions', { key: tenant.adminToken });
      expect(ledger.body.transactions).toEqual([]);
    });

    it('single messages still run, and the rate limit still counts each POST', async () => {
      // Spent so far this minute: 3 batches, plus initialize and initialized with a session.
      const spent = 3 + (sessions === 'memory' ? 2 : 0);
      const results: number[] = [];
      for (let i = 0; i < LIMIT - spent + 1; i++) {
        const res = await post(server.url, tenant.agentKey, toolsCall(1000 + i), sessionHeaders);
        results.push(res.status);
        if (res.status === 200) {
          const text = await res.text();
          // JSON without sessions, an event stream with them: either way one tools/call result.
          const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}');
          const result = (JSON.parse(json) as { result: CallToolResult }).result;
          expect(result.structuredContent).toMatchObject({ status: 'succeeded' });
        } else {
          expect(await res.json()).toMatchObject({ code: 'RATE_LIMITED' });
        }
      }
      expect(results).toEqual([...Array(LIMIT - spent).fill(200), 429]);
      expect(upstream.requests).toHaveLength(LIMIT - spent);
    });

    it('malformed JSON is still a -32700 parse error from the transport', async () => {
      // A fresh key (the first one has spent its minute), outside any session.
      const other = await createTenant(gw, { name: 'Other' });
      const res = await post(server.url, other.agentKey, '{"jsonrpc": "2.0", ');
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
    });
  });
}
