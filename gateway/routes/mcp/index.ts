import type { OpenAPIHono } from '@hono/zod-openapi';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { z } from 'zod';
import type { GatewayEnv } from '../../env.ts';
import { allowedOrigin } from '../../middleware/allowed-origin/index.ts';
import { agentAuth } from '../../middleware/auth/index.ts';
import { rateLimit } from '../../middleware/rate-limit/index.ts';
import type { Deps } from '../../services/context.ts';
import { asAgent } from '../context.ts';
import { route } from '../openapi/route.ts';
import { registerTools } from './tools.ts';

const tag = 'MCP';

/** A JSON-RPC 2.0 error object, as the transport answers a message it cannot take. */
const jsonRpcError = z.object({
  jsonrpc: z.literal('2.0'),
  error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }),
  id: z.union([z.string(), z.number(), z.null()]),
});
const jsonRpcMessage = z
  .union([z.record(z.string(), z.unknown()), z.array(z.record(z.string(), z.unknown()))])
  .describe('A JSON-RPC request, notification or response (or a batch), MCP Streamable HTTP.');

const NOT_STATELESS = {
  jsonrpc: '2.0',
  error: {
    code: -32000,
    message: 'Method not allowed: this server is stateless; send each message by POST.',
  },
  id: null,
} as const;

/**
 * MCP over Streamable HTTP (DESIGN §5, issue 13). Stateless: every POST gets a new server and
 * transport (no session id), so any replica can answer any message and nothing is kept in memory;
 * the agent key of each request decides the workspace and agent exactly as on REST.
 */
export function registerMcpRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  // The Origin check and the agent key come before the transport reads a byte of the message.
  const origin = allowedOrigin({ allowed: deps.config.mcpAllowedOrigins });
  const auth = agentAuth({ deps });
  const limited = rateLimit({ deps, limit: deps.config.rateLimitPerMinute });
  const access = { principal: 'agent' } as const;

  route(
    app,
    {
      method: 'post',
      path: '/mcp',
      tag,
      summary: 'MCP (Streamable HTTP): the agent API as tools',
      description:
        'Tools list_businesses, discover, query, prepare_execute, execute, get_status and evaluate call the same services as the REST routes. A refusal is a tool result with `isError: true` and `structuredContent: {code, error, details}`. An `Origin` header must be listed in MCP_ALLOWED_ORIGINS.',
      access,
      body: jsonRpcMessage,
      responses: {
        200: { description: 'The JSON-RPC answers, as a server-sent event stream', stream: true },
        202: { description: 'Notifications or responses accepted' },
        400: { description: 'Not a valid JSON-RPC message (JSON-RPC error)', schema: jsonRpcError },
        406: { description: 'Accept must list application/json and text/event-stream', schema: jsonRpcError },
        415: { description: 'Content-Type must be application/json', schema: jsonRpcError },
      },
    },
    origin,
    auth,
    limited,
    async (c) => {
      const server = new McpServer(
        { name: 'warden', version: '1.0.0' },
        {
          instructions:
            'Warden gates actions on businesses. Discover first; execute may need prepare_execute (confirm mode) and may be parked for human approval (poll get_status).',
        },
      );
      registerTools(server, {
        agent: c.var.agent,
        ctx: asAgent(deps, c),
        client: () => {
          const info = server.server.getClientVersion();
          return info ? { name: info.name, version: info.version } : null;
        },
        signal: c.req.raw.signal,
      });
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      await server.connect(transport);
      return transport.handleRequest(c.req.raw);
    },
  );

  for (const method of ['get', 'delete'] as const) {
    route(
      app,
      {
        method,
        path: '/mcp',
        tag,
        summary:
          method === 'get'
            ? 'Not served: no standalone event stream (stateless)'
            : 'Not served: there are no sessions to end (stateless)',
        access,
        responses: { 405: { description: 'JSON-RPC error: send messages by POST', schema: jsonRpcError } },
      },
      origin,
      auth,
      async (c) => c.json(NOT_STATELESS, 405, { Allow: 'POST' }),
    );
  }
}
