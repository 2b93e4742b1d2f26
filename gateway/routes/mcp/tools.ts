import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  type CallToolResult,
  ElicitResultSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { type AgentPrincipal, GatewayError, type McpTrace, type Scope } from '../../domain/index.ts';
import type { ServiceContext } from '../../services/context.ts';
import { evaluate } from '../../services/evaluate/index.ts';
import {
  discover,
  executeRequest,
  getTransactionStatus,
  prepareExecute,
  query,
} from '../../services/execute/index.ts';
import { listBusinesses } from '../../services/tenancy/index.ts';
import { agpRequestSchema, businessIdSchema, idempotencyKeySchema } from '../agp/schema.ts';
import { pageArrays } from './page-arrays.ts';
import { type CallOutcome, outcomeContext } from './tasks.ts';

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

type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function callerOf(extra: CallExtra): CallerInfo {
  const caller = extra.authInfo?.extra?.caller as CallerInfo | undefined;
  if (!caller) throw new GatewayError('UNAUTHORIZED', 'No agent key came with this message.');
  return caller;
}

type Structured = Record<string, unknown>;

const ok = (value: Structured): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  structuredContent: value,
});

/** A refusal as a tool error: the same code, message and details as the REST envelope (DESIGN §3). */
const refusal = (code: string, error: string, details?: unknown): CallToolResult => ({
  isError: true,
  content: [{ type: 'text', text: error }],
  structuredContent: { code, error, ...(details === undefined ? {} : { details }) },
});

/** A stored answer (execute, evaluate) whose status says whether it was a refusal. */
function fromAnswer(status: number, body: unknown): CallToolResult {
  const value = body as Structured;
  if (status >= 400) return refusal(String(value.code), String(value.error), value.details);
  return ok(value);
}

const LIST_LIMIT = 20;
/** Items of each list in a discover page (a catalogue can be long; a context window is not). */
const DISCOVER_LIMIT = 50;

// What each tool's `structuredContent` holds (declared as its outputSchema): the fields an agent
// relies on, open to more (a business's `data` is its own).
const TRANSACTION_ID = z.string().describe('The ledger id: pass it to get_status.');
const OUTPUT = {
  list_businesses: {
    businesses: z.array(
      z.looseObject({ id: z.string(), name: z.string(), category: z.string(), description: z.string() }),
    ),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last.'),
  },
  call: { transactionId: TRANSACTION_ID, status: z.string(), data: z.unknown().optional() },
  discover: {
    transactionId: TRANSACTION_ID,
    status: z.string(),
    data: z.unknown().optional(),
    page: z.object({
      offset: z.number(),
      limit: z.number(),
      nextOffset: z
        .number()
        .nullable()
        .describe('Pass as `offset` for the rest of the long lists; null when complete.'),
      truncated: z.array(z.string()).describe('JSON paths of the lists that go on past this page.'),
    }),
  },
  prepare: {
    confirmationToken: z.string().describe('Pass to execute as `confirmationToken`; works once.'),
    expiresAt: z.string(),
    summary: z.unknown().describe('What the execute will do.'),
  },
  status: {
    transactionId: TRANSACTION_ID,
    status: z.string(),
    businessId: z.string().nullable(),
    operation: z.string(),
    data: z.unknown().optional(),
    approval: z.unknown().optional(),
    receipt: z.string().optional().describe('The signed receipt (compact JWS) once settled.'),
  },
  evaluate: {
    evaluation_id: z.string(),
    status: z.enum(['auto_approved', 'rejected', 'pending_human']),
    decision: z.unknown(),
  },
};

const DESCRIPTIONS = {
  list_businesses:
    'List the businesses this gateway can reach: id, name, category, description. Filter by `category` or a search text `q`. Results are paged: pass `nextCursor` back as `cursor` for the next page. Use a business `id` with discover, query, prepare_execute and execute.',
  discover:
    'Ask one business what it offers (its operations, catalogue and the request shapes it accepts). No side effects. Call this before query or execute to learn what `request` to send. Long lists are paged: `page.truncated` names the lists that go on; call again with `offset: page.nextOffset` for their next items (other lists come back empty on later pages).',
  query:
    'Ask a business a question with no side effects (prices, availability, order status). `request` is the business-specific object that discover describes. Returns `{transactionId, status, data}`.',
  prepare_execute:
    'Get a single-use confirmation token for one execute. Call this first whenever execute answers CONFIRMATION_REQUIRED (the gateway runs in confirm or strict mode): pass the exact same businessId and request, then call execute with `confirmationToken`. The token expires after a few minutes and works once; the returned `summary` says what will be done.',
  execute:
    'Perform an action with side effects on a business (book, buy, pay). The workspace policy decides: it may run it (`status` succeeded/failed), refuse it (tool error with code POLICY_REJECTED and the rule in details), or park it: `status: "pending_approval"` means people must approve first; tell the user, then poll get_status with the `transactionId` until it is no longer pending_approval (`queued` waits for a time window the same way). If the error code is CONFIRMATION_REQUIRED, call prepare_execute with the same businessId and request and retry with its `confirmationToken`. Pass an `idempotencyKey` to retry safely: the same key and request return the first answer without acting twice.',
  get_status:
    'Where a transaction stands: `status` (pending, pending_approval, queued, succeeded, failed, unknown, …), the business answer in `data`, the approval stages and the receipt. Use it to wait for a parked execute: poll every few seconds until the status is final.',
  evaluate:
    'Ask the workspace policy for a decision without executing anything (for when you execute yourself): `status` is auto_approved, rejected or pending_human. `context.payload_scope` is the request you intend to make (amount_cents, currency, …).',
} as const;

// Input shapes, built once for every server (each stateless POST builds a server).
const INPUT = {
  list_businesses: {
    category: z.string().max(128).optional(),
    q: z.string().max(200).optional().describe('Search text matched against name and description.'),
    cursor: z.string().max(128).optional().describe('`nextCursor` of the previous page.'),
    limit: z.number().int().min(1).max(100).optional().describe(`Page size (default ${LIST_LIMIT}).`),
  },
  discover: {
    businessId: businessIdSchema,
    offset: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .optional()
      .describe('`page.nextOffset` of the previous page.'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(500)
      .optional()
      .describe(`Items per list (default ${DISCOVER_LIMIT}).`),
  },
  call: { businessId: businessIdSchema, request: agpRequestSchema },
  execute: {
    businessId: businessIdSchema,
    request: agpRequestSchema,
    confirmationToken: z.string().max(512).optional().describe('From prepare_execute (confirm mode).'),
    idempotencyKey: idempotencyKeySchema.optional().describe('Same key and request: the first answer.'),
  },
  get_status: { transactionId: z.string().min(1).max(64) },
  evaluate: {
    policy_name: z.string().min(1).max(64).optional(),
    context: z.object({
      agent_id: z.string().min(1).max(128),
      payload_scope: z.record(z.string(), z.unknown()),
    }),
    webhook_url: z.string().min(1).max(2048).optional(),
    idempotencyKey: idempotencyKeySchema.optional(),
  },
};

/** The agent API's tools (issue 13): each calls the same service as its REST route, with the same context. */
export function registerTools(
  server: McpServer,
  options: { approvalUrl: (approvalId: string) => string },
): void {
  /** Runs one tool: the key's scope, the MCP trace on the context, refusals as tool errors. */
  const run = async (
    tool: string,
    need: Scope | undefined,
    extra: CallExtra,
    fn: (ctx: ServiceContext, agent: AgentPrincipal) => Promise<CallToolResult>,
  ): Promise<CallToolResult> => {
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
    try {
      caller = callerOf(extra);
      if (need && !caller.agent.scopes.includes(need)) {
        throw new GatewayError('FORBIDDEN', `This key does not have the ${need} scope.`);
      }
      result = await fn({ ...caller.ctx, mcp }, caller.agent);
    } catch (err) {
      if (err instanceof GatewayError) result = refusal(err.code, err.message, err.details);
      else {
        caller?.ctx.deps.logger.error({ err, tool }, 'an MCP tool call failed');
        result = refusal('INTERNAL_ERROR', 'Internal error.');
      }
    }
    if (caller) logCall(caller, mcp, result, performance.now() - started);
    return result;
  };

  server.registerTool(
    'list_businesses',
    {
      description: DESCRIPTIONS.list_businesses,
      outputSchema: OUTPUT.list_businesses,
      inputSchema: INPUT.list_businesses,
      annotations: { readOnlyHint: true },
    },
    (args, extra) =>
      run('list_businesses', undefined, extra, async (ctx) => {
        const { cursor, limit = LIST_LIMIT, ...filter } = args;
        // Issue 12: live businesses only, as on GET /agp/businesses; paged by id for a context window.
        const all = (await listBusinesses({ ctx, input: { filter: { ...filter, status: 'live' } } })).sort(
          (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        );
        const rest = cursor === undefined ? all : all.filter((b) => b.id > cursor);
        const page = rest.slice(0, limit);
        const last = page.at(-1);
        return ok({ businesses: page, nextCursor: rest.length > limit && last ? last.id : null });
      }),
  );

  server.registerTool(
    'discover',
    {
      description: DESCRIPTIONS.discover,
      inputSchema: INPUT.discover,
      outputSchema: OUTPUT.discover,
      annotations: { readOnlyHint: true },
    },
    ({ businessId, offset = 0, limit = DISCOVER_LIMIT }, extra) =>
      run('discover', 'discover', extra, async (ctx, agent) => {
        const r = await discover({ ctx, input: { agent, businessId, signal: extra.signal } });
        const { data, page } = pageArrays(r.data, offset, limit);
        return ok({ transactionId: r.transactionId, status: r.status, data, page });
      }),
  );

  server.registerTool(
    'query',
    {
      description: DESCRIPTIONS.query,
      outputSchema: OUTPUT.call,
      inputSchema: INPUT.call,
      annotations: { readOnlyHint: true },
    },
    ({ businessId, request }, extra) =>
      run('query', 'query', extra, async (ctx, agent) => {
        const r = await query({ ctx, input: { agent, businessId, request, signal: extra.signal } });
        return ok({ transactionId: r.transactionId, status: r.status, data: r.data });
      }),
  );

  server.registerTool(
    'prepare_execute',
    {
      description: DESCRIPTIONS.prepare_execute,
      outputSchema: OUTPUT.prepare,
      inputSchema: INPUT.call,
    },
    ({ businessId, request }, extra) =>
      run('prepare_execute', 'execute', extra, async (ctx, agent) =>
        ok({ ...(await prepareExecute({ ctx, agent, input: { businessId, request } })) }),
      ),
  );

  type ExecuteArgs = {
    businessId: string;
    request: Record<string, unknown>;
    confirmationToken?: string;
    idempotencyKey?: string;
  };

  /** One execute through the REST path's service; in confirm mode the client's user may confirm it (form elicitation). */
  const executeCall = (args: ExecuteArgs, extra: CallExtra): Promise<CallOutcome> => {
    let outcome: CallOutcome | undefined;
    const result = run('execute', 'execute', extra, async (ctx, agent) => {
      const once = async (confirmationToken: string | undefined) => {
        const answer = await executeRequest({
          ctx,
          input: {
            agent,
            body: { ok: true, value: { businessId: args.businessId, request: args.request } },
            confirmationToken: confirmationToken || undefined,
            idempotencyKey: args.idempotencyKey,
          },
        });
        return answer.response;
      };
      let response: Awaited<ReturnType<typeof once>>;
      try {
        response = await once(args.confirmationToken);
      } catch (err) {
        // Confirm mode without a token: a client that can show a form asks its user instead.
        const unconfirmed = err instanceof GatewayError && err.code === 'CONFIRMATION_REQUIRED';
        if (!unconfirmed || args.confirmationToken || !canElicit(server, 'form')) throw err;
        const prepared = await prepareExecute({
          ctx,
          agent,
          input: { businessId: args.businessId, request: args.request },
        });
        if (!(await confirmWithUser(extra, prepared.summary))) throw err;
        response = await once(prepared.confirmationToken);
      }
      const body = response.body as Structured;
      const status = String(body.status ?? '');
      const parked = response.status < 400 && (status === 'pending_approval' || status === 'queued');
      if (status === 'pending_approval' && canElicit(server, 'url')) {
        const approval = body.approval as { id: string };
        showApproval(extra, options.approvalUrl(approval.id), approval.id);
      }
      const transactionId = typeof body.transactionId === 'string' ? body.transactionId : undefined;
      const result = fromAnswer(response.status, body);
      outcome = { result, final: !parked, ...(transactionId ? { transactionId } : {}) };
      return result;
    });
    return result.then((r) => outcome ?? { result: r, final: true });
  };

  // Task-capable (MCP tasks): a client that asks for a task gets one that completes when the parked
  // request is decided and executed; any other client gets the answer at once (see LedgerTaskStore).
  server.experimental.tasks.registerToolTask(
    'execute',
    {
      description: DESCRIPTIONS.execute,
      inputSchema: INPUT.execute,
      annotations: { destructiveHint: true },
      execution: { taskSupport: 'optional' },
    },
    {
      createTask: async (args, extra) => {
        const outcome = await executeCall(args as ExecuteArgs, extra);
        const task = await extra.taskStore.createTask(outcomeContext(outcome));
        return { task };
      },
      getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
      getTaskResult: async (_args, extra) =>
        (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
    },
  );

  server.registerTool(
    'get_status',
    {
      description: DESCRIPTIONS.get_status,
      outputSchema: OUTPUT.status,
      inputSchema: INPUT.get_status,
      annotations: { readOnlyHint: true },
    },
    ({ transactionId }, extra) =>
      run('get_status', undefined, extra, async (ctx) =>
        ok({ ...(await getTransactionStatus({ ctx, input: { transactionId } })) }),
      ),
  );

  server.registerTool(
    'evaluate',
    {
      description: DESCRIPTIONS.evaluate,
      outputSchema: OUTPUT.evaluate,
      inputSchema: INPUT.evaluate,
    },
    (args, extra) =>
      run('evaluate', 'execute', extra, async (ctx, agent) => {
        const answer = await evaluate({
          ctx,
          input: {
            agent,
            body: {
              policyName: args.policy_name,
              agentId: args.context.agent_id,
              payloadScope: args.context.payload_scope,
              webhookUrl: args.webhook_url,
            },
            idempotencyKey: args.idempotencyKey,
          },
        });
        return fromAnswer(answer.response.status, answer.response.body);
      }),
  );
}

/**
 * One log event per tool call: the HTTP request's own line cannot carry it, since a streamed answer
 * is logged when the stream starts and one request may carry several calls.
 */
function logCall(caller: CallerInfo, mcp: McpTrace, result: CallToolResult, ms: number): void {
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
      durationMs: Math.round(ms * 100) / 100,
    },
    'mcp tool call',
  );
}

/** Whether the client declared it can show this kind of elicitation (MCP 2025-11-25: form, url). */
function canElicit(server: McpServer, mode: 'form' | 'url'): boolean {
  const elicitation = server.server.getClientCapabilities()?.elicitation as
    | { form?: object; url?: object }
    | undefined;
  if (!elicitation) return false;
  // An empty `elicitation: {}` is the older form-only declaration.
  if (mode === 'form') return elicitation.form !== undefined || elicitation.url === undefined;
  return elicitation.url !== undefined;
}

/** Asks the client's user to confirm the prepared summary (confirm mode); true only on an explicit yes. */
async function confirmWithUser(extra: CallExtra, summary: unknown): Promise<boolean> {
  const answer = await extra.sendRequest(
    {
      method: 'elicitation/create',
      params: {
        mode: 'form',
        message: `Confirm this action before it runs: ${typeof summary === 'string' ? summary : JSON.stringify(summary)}`,
        requestedSchema: {
          type: 'object',
          properties: {
            confirm: { type: 'boolean', title: 'Run it', description: 'Yes: Warden executes it now.' },
          },
          required: ['confirm'],
        },
      },
    },
    ElicitResultSchema,
    { signal: extra.signal },
  );
  return answer.action === 'accept' && answer.content?.confirm === true;
}

/**
 * Points the client's user at the approval (URL elicitation) without holding the answer back: the
 * result says pending_approval whether or not the user opens it.
 */
function showApproval(extra: CallExtra, url: string, approvalId: string): void {
  extra
    .sendRequest(
      {
        method: 'elicitation/create',
        params: {
          mode: 'url',
          message:
            'This request waits for approval by people in your workspace. Open the approval to follow or decide it.',
          url,
          elicitationId: approvalId,
        },
      },
      ElicitResultSchema,
    )
    .catch(() => {
      // The user may dismiss it, or the client may go away: the approval goes on either way.
    });
}
