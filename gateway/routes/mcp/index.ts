import { randomUUID } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { Context } from 'hono';
import { z } from 'zod';
import { errorBody, type GatewayError } from '../../domain/index.ts';
import type { GatewayEnv } from '../../env.ts';
import { allowedOrigin } from '../../middleware/allowed-origin/index.ts';
import { agentAuth } from '../../middleware/auth/index.ts';
import { rateLimit } from '../../middleware/rate-limit/index.ts';
import type { Deps, ServiceContext } from '../../services/context.ts';
import { asAgent } from '../context.ts';
import { route } from '../openapi/route.ts';
import { McpSessions } from './sessions.ts';
import { LedgerTaskStore } from './tasks.ts';
import { type CallerInfo, callerAuth, registerTools } from './tools/index.ts';

const tag = 'MCP';

/** A JSON-RPC 2.0 error object, as the transport answers a message it cannot take. */
const jsonRpcError = z.object({
  jsonrpc: z.literal('2.0'),
  error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }),
  id: z.union([z.string(), z.number(), z.null()]),
});
/** A JSON-RPC answer when the transport answers in JSON. */
const jsonRpcReply = z.record(z.string(), z.unknown());
const jsonRpcMessage = z
  .record(z.string(), z.unknown())
  .describe(
    'One JSON-RPC request, notification or response, MCP Streamable HTTP. A batch (a JSON array) is refused with 400 and JSON-RPC error -32600: MCP 2025-06-18 removed batching.',
  );

const NO_SESSIONS = {
  jsonrpc: '2.0',
  error: {
    code: -32000,
    message:
      'Method not allowed: this server keeps no sessions (MCP_SESSIONS=none); send each message by POST.',
  },
  id: null,
} as const;

const NO_SESSION_ID = {
  jsonrpc: '2.0',
  error: { code: -32000, message: 'Bad Request: Mcp-Session-Id header is required' },
  id: null,
} as const;

const SESSION_NOT_FOUND = {
  jsonrpc: '2.0',
  error: { code: -32001, message: 'Session not found' },
  id: null,
} as const;

/**
 * A request refused before the transport (middleware/storable-text): a JSON-RPC error, as the
 * transport answers a message it cannot take, carrying the REST envelope's code and fields.
 */
export function mcpRefusal(c: Context<GatewayEnv>, refusal: GatewayError): Response {
  const { error, code, requestId, details } = errorBody(refusal, c.get('requestId'));
  return c.json(
    { jsonrpc: '2.0', error: { code: -32600, message: error, data: { code, requestId, details } }, id: null },
    refusal.status,
  );
}

/**
 * MCP 2025-06-18 removed JSON-RPC batching. A batch is refused whole, as the SDK refuses one over its
 * size limit (400, -32600): run, it would be 100 tool calls on one request's rate-limit count.
 */
const NO_BATCHES = {
  jsonrpc: '2.0',
  error: {
    code: -32600,
    message:
      'Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18); send one message per POST.',
  },
  id: null,
} as const;

const INSTRUCTIONS =
  'Warden gates actions on businesses. Discover first; execute may need prepare_execute (confirm mode) and may be parked for human approval (poll get_status, or call execute as a task).';

/**
 * MCP over Streamable HTTP (DESIGN §5, issue 13). With MCP_SESSIONS=memory (the default) `initialize`
 * opens a session on this replica (its id in `Mcp-Session-Id`): the server then knows the client's
 * name and capabilities, may ask its user to confirm (form elicitation) or open an approval (URL
 * elicitation), and offers the GET event stream and DELETE. With MCP_SESSIONS=none every POST gets a
 * new server and a JSON answer, so any replica answers any message. Either way the agent key of each
 * request decides the workspace and agent exactly as on REST, and a session is bound to its key.
 */
export function registerMcpRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): { close(): void } {
  // The Origin check and the agent key come before the transport reads a byte of the message.
  const origin = allowedOrigin({ allowed: deps.config.mcpAllowedOrigins });
  const auth = agentAuth({ deps, resource: 'mcp' });
  const limited = rateLimit({ deps, limit: deps.config.rateLimitPerMinute });
  const access = { principal: 'agent' } as const;
  const sessionful = deps.config.mcpSessions === 'memory';
  const sessions = new McpSessions({
    idleMs: deps.config.mcpSessionIdleMs,
    max: deps.config.mcpMaxSessions,
    clock: Date.now,
  });
  const approvalUrl = (approvalId: string) => `${deps.config.publicBaseUrl}/console/approvals/${approvalId}`;

  // One JSON Schema validator for every server (the SDK builds a new Ajv per server otherwise, which
  // was 6% of a stateless tools/call's CPU).
  const jsonSchemaValidator = new AjvJsonSchemaValidator();
  const newServer = (context: () => ServiceContext) => {
    const server = new McpServer(
      { name: 'warden', version: '1.0.0' },
      {
        instructions: INSTRUCTIONS,
        capabilities: { tasks: { requests: { tools: { call: {} } } } },
        taskStore: new LedgerTaskStore(context),
        jsonSchemaValidator,
      },
    );
    registerTools(server, { approvalUrl });
    return server;
  };

  /** The caller of this request, handed to every message it carries. */
  const callerOf = (c: Context<GatewayEnv>): CallerInfo => ({ agent: c.var.agent, ctx: asAgent(deps, c) });
  const authInfo = (caller: CallerInfo) => callerAuth(caller, '');

  /**
   * A POST's one JSON-RPC message, parsed once and handed to the transport (`parsedBody`), or the
   * refusal of a batch. A body that is not JSON goes to the transport as it came, which answers it
   * exactly as before (406, 415 or a -32700 parse error).
   */
  const singleMessage = async (
    c: Context<GatewayEnv>,
  ): Promise<{ request: Request; parsedBody?: unknown } | Response> => {
    if (c.req.method !== 'POST') return { request: c.req.raw };
    const text = await c.req.text();
    let parsedBody: unknown;
    try {
      parsedBody = JSON.parse(text);
    } catch {
      return { request: new Request(c.req.raw, { body: text }) };
    }
    if (Array.isArray(parsedBody)) return c.json(NO_BATCHES, 400);
    return { request: c.req.raw, parsedBody };
  };

  /** A message of an existing session, or `initialize` opening one (MCP_SESSIONS=memory). */
  const sessionRequest = async (c: Context<GatewayEnv>): Promise<Response> => {
    const message = await singleMessage(c);
    if (message instanceof Response) return message;
    const { request, parsedBody } = message;
    const caller = callerOf(c);
    const id = c.req.header('mcp-session-id');
    if (id) {
      const session = sessions.use(id, caller.agent.agentKeyId);
      if (!session) return c.json(SESSION_NOT_FOUND, 404);
      session.latest.caller = caller;
      return session.transport.handleRequest(request, { authInfo: authInfo(caller), parsedBody });
    }
    if (c.req.method !== 'POST') return c.json(NO_SESSION_ID, 400);
    // The session's own reads (tasks/get) run as its key, with the context of its latest request.
    const latest = { caller };
    const server = newServer(() => latest.caller.ctx);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sessionId) => {
        const agentKeyId = caller.agent.agentKeyId;
        sessions.add(sessionId, { server, transport, agentKeyId, lastSeen: Date.now(), latest });
      },
      onsessionclosed: (sessionId) => sessions.forget(sessionId),
    });
    await server.connect(transport);
    return transport.handleRequest(request, { authInfo: authInfo(caller), parsedBody });
  };

  /** MCP_SESSIONS=none: one server and transport per POST, a JSON answer, nothing kept. */
  const statelessRequest = async (c: Context<GatewayEnv>): Promise<Response> => {
    const message = await singleMessage(c);
    if (message instanceof Response) return message;
    const { request, parsedBody } = message;
    const caller = callerOf(c);
    const server = newServer(() => caller.ctx);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    return transport.handleRequest(request, { authInfo: authInfo(caller), parsedBody });
  };

  route(
    app,
    {
      method: 'post',
      path: '/mcp',
      operationId: 'mcpMessage',
      tag,
      summary: 'MCP (Streamable HTTP): the agent API as tools',
      description:
        'Tools list_businesses, discover, query, prepare_execute, execute (task-capable) and get_status and evaluate call the same services as the REST routes. A refusal is a tool result with `isError: true` and `structuredContent: {code, error, details}`. `initialize` opens a session (`Mcp-Session-Id`) unless MCP_SESSIONS=none. An `Origin` header must be listed in MCP_ALLOWED_ORIGINS. Authenticated by an agent key or an OAuth access token issued for this resource (a 401 names `/.well-known/oauth-protected-resource/mcp` in `WWW-Authenticate`).',
      access,
      body: jsonRpcMessage,
      responses: {
        200: {
          description: 'The JSON-RPC answers: an event stream, or JSON with MCP_SESSIONS=none',
          stream: true,
          schema: jsonRpcReply,
        },
        202: { description: 'Notifications or responses accepted' },
        400: {
          description:
            'Not a valid JSON-RPC message, a batch, no session id, or text that cannot be stored (JSON-RPC error)',
          schema: jsonRpcError,
        },
        404: { description: 'No such session on this replica: initialize again', schema: jsonRpcError },
        406: { description: 'Accept must list application/json and text/event-stream', schema: jsonRpcError },
        415: { description: 'Content-Type must be application/json', schema: jsonRpcError },
      },
    },
    origin,
    auth,
    limited,
    (c) => (sessionful ? sessionRequest(c) : statelessRequest(c)),
  );

  for (const method of ['get', 'delete'] as const) {
    route(
      app,
      {
        method,
        path: '/mcp',
        operationId: method === 'get' ? 'mcpEventStream' : 'mcpEndSession',
        tag,
        summary:
          method === 'get'
            ? "The session's event stream (server requests and notifications outside a call)"
            : 'Ends the session',
        description: 'Needs `Mcp-Session-Id`; with MCP_SESSIONS=none there are no sessions (405).',
        access,
        responses: {
          ...(method === 'get'
            ? { 200: { description: 'The event stream', stream: true as const } }
            : { 200: { description: 'The session ended' } }),
          400: {
            description: 'No session id, or text that cannot be stored (JSON-RPC error)',
            schema: jsonRpcError,
          },
          404: { description: 'No such session on this replica', schema: jsonRpcError },
          405: {
            description: 'No sessions here (MCP_SESSIONS=none): send messages by POST',
            schema: jsonRpcError,
          },
          406: { description: 'Accept must list text/event-stream', schema: jsonRpcError },
          409: { description: 'The session already has an event stream', schema: jsonRpcError },
        },
      },
      origin,
      auth,
      (c) => (sessionful ? sessionRequest(c) : c.json(NO_SESSIONS, 405, { Allow: 'POST' })),
    );
  }
  return { close: () => sessions.close() };
}
