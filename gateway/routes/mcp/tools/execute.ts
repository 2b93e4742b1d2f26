import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { GatewayError } from '../../../domain/index.ts';
import { executeRequest, prepareExecute } from '../../../services/execute/index.ts';
import { agpRequestSchema, businessIdSchema, idempotencyKeySchema } from '../../agp/schema.ts';
import { type CallOutcome, outcomeContext } from '../tasks.ts';
import { canElicit, confirmWithUser, showApproval } from './elicit.ts';
import { TRANSACTION_ID } from './shapes.ts';
import { type CallExtra, fromAnswer, type Structured, type Tool, type ToolKit } from './tool.ts';

const DESCRIPTION =
  'Perform an action with side effects on a business (book, buy, pay). The workspace policy decides: it may run it (`status` succeeded/failed), refuse it (tool error with code POLICY_REJECTED and the rule in details), or park it: `status: "pending_approval"` means people must approve first; tell the user, then poll get_status with the `transactionId` until it is no longer pending_approval (`queued` waits for a time window the same way). If the error code is CONFIRMATION_REQUIRED, call prepare_execute with the same arguments, then execute again with the same arguments and its `confirmationToken`. Pass an `idempotencyKey` to retry safely: the same key and request return the first answer without acting twice.';

const INPUT = {
  businessId: businessIdSchema,
  request: agpRequestSchema,
  confirmationToken: z.string().max(512).optional().describe('From prepare_execute (confirm mode).'),
  idempotencyKey: idempotencyKeySchema.optional().describe('Same key and request: the first answer.'),
};

/** Every answer that is not a tool error: done, parked for people, or queued for a time window. */
const OUTPUT = {
  transactionId: TRANSACTION_ID,
  status: z
    .enum(['succeeded', 'failed', 'pending_confirmation', 'pending_approval', 'queued'])
    .describe(
      'succeeded or failed: done, the business answer in `data`. pending_approval: people must approve; poll get_status. queued: it runs at `releaseAt`; poll get_status.',
    ),
  data: z.unknown().optional().describe('The business answer, once done.'),
  receipt: z.string().optional().describe('The signed receipt (compact JWS), once done.'),
  approval: z
    .object({
      id: z.string(),
      status: z.string().optional(),
      stages: z.array(z.unknown()),
      expiresAt: z.string().nullable(),
    })
    .optional()
    .describe('pending_approval: the approval and its stages.'),
  releaseAt: z.string().optional().describe('queued: when it runs (ISO 8601).'),
};

type ExecuteArgs = {
  businessId: string;
  request: Record<string, unknown>;
  confirmationToken?: string;
  idempotencyKey?: string;
};

/**
 * One execute through the REST path's service; in confirm mode the client's user may confirm it
 * (form elicitation), and a parked request points the user at its approval (URL elicitation).
 */
function executeCall(
  server: McpServer,
  kit: ToolKit,
  args: ExecuteArgs,
  extra: CallExtra,
): Promise<CallOutcome> {
  let outcome: CallOutcome | undefined;
  const result = kit.run('execute', 'execute', extra, async ({ ctx, agent }) => {
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
      showApproval(extra, kit.approvalUrl(approval.id), approval.id);
    }
    const transactionId = typeof body.transactionId === 'string' ? body.transactionId : undefined;
    const result = fromAnswer(response.status, body);
    outcome = { result, final: !parked, ...(transactionId ? { transactionId } : {}) };
    return result;
  });
  return result.then((r) => outcome ?? { result: r, final: true });
}

/**
 * Task-capable (MCP tasks): a client that asks for a task gets one that completes when the parked
 * request is decided and executed; any other client gets the answer at once (see LedgerTaskStore).
 */
export const executeTool: Tool = {
  name: 'execute',
  register(server, kit) {
    server.experimental.tasks.registerToolTask(
      'execute',
      {
        description: DESCRIPTION,
        inputSchema: INPUT,
        outputSchema: OUTPUT,
        annotations: { destructiveHint: true },
        execution: { taskSupport: 'optional' },
      },
      {
        createTask: async (args, extra) => {
          const outcome = await executeCall(server, kit, args as ExecuteArgs, extra);
          const task = await extra.taskStore.createTask(outcomeContext(outcome));
          return { task };
        },
        getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
        getTaskResult: async (_args, extra) =>
          (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
      },
    );
  },
};
