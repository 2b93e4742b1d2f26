import { randomUUID } from 'node:crypto';
import type {
  CreateTaskOptions,
  TaskStore,
} from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  type Request,
  type Result,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import { GatewayError } from '../../domain/index.ts';
import type { ServiceContext } from '../../services/context.ts';
import { getTransactionStatus } from '../../services/execute/index.ts';

/** How a task-capable tool call ended when it answered: handed to `createTask` as its context. */
export interface CallOutcome {
  result: CallToolResult;
  /** The transaction it made, when it made one. */
  transactionId?: string;
  /** Nothing left to wait for (anything but pending_approval / queued / in flight). */
  final: boolean;
}

const OUTCOME = 'warden.outcome';
export const outcomeContext = (outcome: CallOutcome): CreateTaskOptions => ({
  context: { [OUTCOME]: outcome },
  pollInterval: POLL_MS,
});

/** How often a client should ask about a parked execute (tasks/get), and how often tasks/result re-reads it. */
const POLL_MS = 2_000;
/** Results of calls that ended at once, kept for tasks/result in this session (bounded). */
const KEPT = 256;

/** Statuses an execute waits in: people, a time window, or the business still answering. */
const WAITING = new Set(['pending', 'approved', 'pending_approval', 'queued', 'pending_confirmation']);

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * MCP tasks over the ledger (issue 13): a task-augmented execute that people must approve becomes a
 * task whose id is the transaction id, so `tasks/get` and `tasks/result` read the transaction itself;
 * any replica can answer them, and the task completes when the request is decided and executed.
 * Nothing is stored besides the ledger; a call that ended at once keeps its result here for the session.
 *
 * A plain (not task-augmented) call is reported complete at once, so the SDK answers it directly with
 * what the tool returned (`pending_approval` included) instead of waiting for the approval.
 */
export class LedgerTaskStore implements TaskStore {
  readonly #ended = new Map<string, { task: Task; result: CallToolResult }>();

  constructor(private readonly context: () => ServiceContext) {}

  async createTask(options: CreateTaskOptions, _id: unknown, request: Request): Promise<Task> {
    const outcome = options.context?.[OUTCOME] as CallOutcome | undefined;
    if (!outcome) throw new McpError(ErrorCode.InternalError, 'A task was created without its outcome.');
    // (The SDK's isTaskAugmentedRequestParams accepts any params: `task` is optional in its schema.)
    const asked = (request.params as { task?: unknown } | undefined)?.task !== undefined;
    if (asked && !outcome.final && outcome.transactionId) {
      const task = await this.getTask(outcome.transactionId);
      if (task) return task;
    }
    const now = iso(Date.now());
    const task: Task = {
      taskId: outcome.transactionId ?? randomUUID(),
      status: outcome.result.isError ? 'failed' : 'completed',
      ttl: null,
      createdAt: now,
      lastUpdatedAt: now,
    };
    this.#ended.delete(task.taskId);
    this.#ended.set(task.taskId, { task, result: outcome.result });
    if (this.#ended.size > KEPT) {
      const [oldest] = this.#ended.keys();
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
    return task;
  }

  async getTask(taskId: string): Promise<Task | null> {
    const ended = this.#ended.get(taskId);
    if (ended) return ended.task;
    const status = await this.#status(taskId);
    if (!status) return null;
    const waiting = WAITING.has(status.status);
    return {
      taskId,
      status: waiting ? 'working' : status.status === 'succeeded' ? 'completed' : 'failed',
      statusMessage: message(status.status),
      ttl: null,
      createdAt: status.createdAt,
      lastUpdatedAt: status.updatedAt,
      pollInterval: POLL_MS,
    };
  }

  async getTaskResult(taskId: string): Promise<Result> {
    const ended = this.#ended.get(taskId);
    if (ended) return ended.result;
    const status = await this.#status(taskId);
    if (!status) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    const { createdAt: _c, updatedAt: _u, ...body } = status;
    if (status.status === 'succeeded') {
      return { content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body };
    }
    const error = status.error as { code?: string; message?: string } | undefined;
    const text = error?.message ?? message(status.status);
    return {
      isError: true,
      content: [{ type: 'text', text }],
      structuredContent: { ...body, code: error?.code ?? status.status.toUpperCase(), error: text },
    };
  }

  // The ledger is the only record: a task's state is its transaction's, written by the services.
  async storeTaskResult(): Promise<void> {}

  async updateTaskStatus(): Promise<void> {
    throw new McpError(
      ErrorCode.InvalidRequest,
      'A Warden task follows its transaction and cannot be changed.',
    );
  }

  async listTasks(): Promise<{ tasks: Task[] }> {
    throw new McpError(ErrorCode.MethodNotFound, 'Listing tasks is not supported: ask for one by its id.');
  }

  async #status(transactionId: string) {
    try {
      const ctx = this.context();
      return await getTransactionStatus({ ctx, input: { transactionId } });
    } catch (err) {
      if (err instanceof GatewayError && err.code === 'TRANSACTION_NOT_FOUND') return undefined;
      throw err;
    }
  }
}

function message(status: string): string {
  switch (status) {
    case 'pending_approval':
      return 'Waiting for people to approve the request.';
    case 'queued':
      return 'Queued until the policy time window opens.';
    case 'pending':
    case 'approved':
      return 'The business is being called.';
    case 'succeeded':
      return 'Done.';
    case 'rejected':
      return 'Rejected.';
    case 'expired':
      return 'The approval ran out of time.';
    case 'unknown':
      return 'The outcome is unknown: retry execute with the same idempotencyKey to settle it.';
    default:
      return `The request ${status}.`;
  }
}
