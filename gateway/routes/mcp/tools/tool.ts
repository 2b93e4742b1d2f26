import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ShapeOutput, ZodRawShapeCompat } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { type AgentPrincipal, GatewayError, type McpTrace, type Scope } from '../../../domain/index.ts';
import type { ServiceContext } from '../../../services/context.ts';
import {
  endSpan,
  extractTraceContext,
  SpanKind,
  startChildSpan,
  type Traced,
  traceIdOf,
} from '../../../tracing/index.ts';

/**
 * What every MCP tool shares: who is calling, the runner that checks the key's scope and adds the
 * MCP trace to the context, the result shapes, and `defineTool` for a tool that is one service call.
 */

/** Who is calling, from the HTTP request that carried the message (`authInfo.extra` of the transport). */
export interface CallerInfo {
  agent: AgentPrincipal;
  /** The agent's service context (asAgent) of that request; each call adds its MCP trace. */
  ctx: ServiceContext;
}

/** Hands a request's caller to the transport: every message it carries sees it as `extra.authInfo`. */
export const callerAuth = (caller: CallerInfo, token: string): AuthInfo => ({
  token,
  clientId: caller.agent.agentKeyId,
  scopes: [...caller.agent.scopes],
  extra: { caller },
});

export type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function callerOf(extra: CallExtra): CallerInfo {
  const caller = extra.authInfo?.extra?.caller as CallerInfo | undefined;
  if (!caller) throw new GatewayError('UNAUTHORIZED', 'No agent key came with this message.');
  return caller;
}

export type Structured = Record<string, unknown>;

export const ok = (value: Structured): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  structuredContent: value,
});

/**
 * What a model should do next, where the REST message names something a tool caller cannot do (a
 * header) or leaves the next step unsaid: the confirmation refusals of confirm and strict mode.
 */
const MCP_MESSAGES: Partial<Record<string, string>> = {
  CONFIRMATION_REQUIRED:
    'This execute needs a confirmation: call prepare_execute with the same arguments (businessId and request), then call execute again with the same arguments and its confirmationToken.',
  CONFIRMATION_INVALID:
    'The confirmation token is unknown, already used, or another key’s: call prepare_execute with the same arguments, then execute with the new confirmationToken.',
  CONFIRMATION_EXPIRED:
    'The confirmation token expired: call prepare_execute with the same arguments, then execute with the new confirmationToken.',
  CONFIRMATION_MISMATCH:
    'The confirmation token was prepared for another business or request: call prepare_execute with exactly the businessId and request you execute, then execute with its confirmationToken.',
};

/**
 * A refusal as a tool error: the REST envelope's code and details (DESIGN §3), and its message,
 * unless a tool caller needs other words (MCP_MESSAGES). The text content starts with the code too:
 * many clients hand only `content` to the model.
 */
export function refusal(code: string, error: string, details?: unknown): CallToolResult {
  const message = MCP_MESSAGES[code] ?? error;
  return {
    isError: true,
    content: [{ type: 'text', text: `${code}: ${message}` }],
    structuredContent: { code, error: message, ...(details === undefined ? {} : { details }) },
  };
}

/**
 * The SDK answers some tool calls itself, before a tool runs (arguments that fail the input schema,
 * an unknown tool), with a text error and no code. Its one place for them is `createToolError`,
 * which TypeScript calls private; it is replaced on this server so those errors carry a code like
 * every other (test/mcp checks both, so an SDK that renames it fails there).
 */
export function codedSdkErrors(server: McpServer): void {
  const target = server as unknown as { createToolError?: (message: string) => CallToolResult };
  if (typeof target.createToolError !== 'function') {
    throw new Error('The MCP SDK no longer has McpServer.createToolError: see codedSdkErrors.');
  }
  target.createToolError = (message: string) => {
    const code = /Input validation error|Invalid arguments/.test(message)
      ? 'VALIDATION_ERROR'
      : / not found$/.test(message)
        ? 'NOT_FOUND'
        : 'INTERNAL_ERROR';
    return refusal(code, message.replace(/^MCP error -?\d+: /, ''));
  };
}

/** A stored answer (execute, evaluate) whose status says whether it was a refusal. */
export function fromAnswer(status: number, body: unknown): CallToolResult {
  const value = body as Structured;
  if (status >= 400) return refusal(String(value.code), String(value.error), value.details);
  return ok(value);
}

/** What a tool's work gets: the caller's context with the MCP trace, the agent, the message's extra. */
export interface ToolCall {
  ctx: ServiceContext;
  agent: AgentPrincipal;
  extra: CallExtra;
}

/** What the registry hands each tool when it registers on a server. */
export interface ToolKit {
  /** Runs one call: the key's scope, the MCP trace on the context, refusals as tool errors, one log line. */
  run(
    tool: string,
    need: Scope | undefined,
    extra: CallExtra,
    fn: (call: ToolCall) => Promise<CallToolResult>,
  ): Promise<CallToolResult>;
  /** The console page of an approval, for a client that can open a URL (elicitation). */
  approvalUrl(approvalId: string): string;
}

/** One tool of the registry (tools/index.ts lists them in the order tools/list shows them). */
export interface Tool {
  name: string;
  register(server: McpServer, kit: ToolKit): void;
}

export function toolKit(
  server: McpServer,
  options: { approvalUrl: (approvalId: string) => string },
): ToolKit {
  return {
    approvalUrl: options.approvalUrl,
    async run(tool, need, extra, fn) {
      const info = server.server.getClientVersion();
      const mcp: McpTrace = {
        client: info ? { name: info.name, version: info.version } : null,
        sessionId: extra.sessionId ?? null,
        tool,
        requestId: extra.requestId ?? null,
      };
      const started = performance.now();
      let caller: CallerInfo | undefined;
      let result: CallToolResult;
      let span: ReturnType<typeof startChildSpan>;
      try {
        caller = callerOf(extra);
        span = toolSpan(caller.ctx, extra, mcp);
        if (need && !caller.agent.scopes.includes(need)) {
          throw new GatewayError('FORBIDDEN', `This key does not have the ${need} scope.`);
        }
        const ctx: ServiceContext = span ? { ...caller.ctx, mcp, trace: span.trace } : { ...caller.ctx, mcp };
        result = await fn({ ctx, agent: caller.agent, extra });
      } catch (err) {
        if (err instanceof GatewayError) result = refusal(err.code, err.message, err.details);
        else {
          caller?.ctx.deps.logger.error({ err, tool }, 'an MCP tool call failed');
          result = refusal('INTERNAL_ERROR', 'Internal error.');
        }
      }
      if (span) {
        const code = result.isError ? (result.structuredContent as Structured | undefined)?.code : undefined;
        endSpan(span.span, code === undefined ? undefined : { code: String(code) });
      }
      if (caller) logCall(caller, mcp, result, performance.now() - started, traceIdOf(span?.trace));
      return result;
    },
  };
}

/**
 * Issue 24: a tool call's span, following OTel's MCP conventions (`tools/call {tool}`, server kind).
 * Its parent is the `traceparent` (and `tracestate`) of the message's `_meta`, as the MCP 2026-07-28
 * revision carries them, else the HTTP request's span; none when neither is traced.
 */
function toolSpan(ctx: ServiceContext, extra: CallExtra, mcp: McpTrace) {
  const meta = extra._meta as Record<string, unknown> | undefined;
  let parent: Traced | undefined = ctx.trace;
  if (typeof meta?.traceparent === 'string') {
    const tracestate = typeof meta.tracestate === 'string' ? meta.tracestate : undefined;
    const context = extractTraceContext(meta.traceparent, tracestate);
    if (traceIdOf({ tracer: ctx.deps.tracing.tracer, context })) {
      parent = { tracer: ctx.deps.tracing.tracer, context };
    }
  }
  return startChildSpan(
    parent,
    `tools/call ${mcp.tool}`,
    () => ({
      'mcp.method.name': 'tools/call',
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': mcp.tool,
      ...(mcp.sessionId ? { 'mcp.session.id': mcp.sessionId } : {}),
      ...(mcp.requestId === null ? {} : { 'jsonrpc.request.id': String(mcp.requestId) }),
    }),
    SpanKind.SERVER,
  );
}

/**
 * A tool that is one service call: its declaration (name, the scope it needs, description, input and
 * output shapes built once at load, since each stateless POST builds a server) and its work.
 */
export function defineTool<Input extends ZodRawShapeCompat>(spec: {
  name: string;
  /** The key scope the tool needs; undefined: any agent key. */
  scope: Scope | undefined;
  description: string;
  inputSchema: Input;
  outputSchema: ZodRawShapeCompat;
  annotations?: ToolAnnotations;
  handle(args: ShapeOutput<Input>, call: ToolCall): Promise<CallToolResult>;
}): Tool {
  const { name, scope, handle, ...config } = spec;
  return {
    name,
    register(server, kit) {
      const callback = (args: ShapeOutput<Input>, extra: CallExtra) =>
        kit.run(name, scope, extra, (call) => handle(args, call));
      // The SDK's callback type is conditional on the input shape, which TypeScript cannot resolve
      // for a generic one; with a raw shape it is exactly this function.
      server.registerTool(name, config, callback as ToolCallback<Input>);
    },
  };
}

/**
 * One log event per tool call: the HTTP request's own line cannot carry it, since a streamed answer
 * is logged when the stream starts and one request may carry several calls.
 */
function logCall(
  caller: CallerInfo,
  mcp: McpTrace,
  result: CallToolResult,
  ms: number,
  traceId: string | undefined,
): void {
  const content = (result.structuredContent ?? {}) as Structured;
  caller.ctx.deps.logger.info(
    {
      requestId: caller.ctx.requestId,
      workspace: caller.agent.workspaceId,
      agent: caller.agent.agentKeyId,
      mcp: { tool: mcp.tool, jsonRpcId: mcp.requestId, sessionId: mcp.sessionId, client: mcp.client },
      ...(typeof content.transactionId === 'string' ? { transactionId: content.transactionId } : {}),
      ...(typeof content.status === 'string' ? { status: content.status } : {}),
      ...(result.isError ? { errorCode: content.code } : {}),
      ...(traceId ? { traceId } : {}),
      durationMs: Math.round(ms * 100) / 100,
    },
    'mcp tool call',
  );
}
