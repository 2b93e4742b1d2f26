import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { CallExtra } from './tool.ts';

/** Asking the client's user (MCP elicitation): execute's confirmation and its pointer to an approval. */

/** Whether the client declared it can show this kind of elicitation (MCP 2025-11-25: form, url). */
export function canElicit(server: McpServer, mode: 'form' | 'url'): boolean {
  const elicitation = server.server.getClientCapabilities()?.elicitation as
    | { form?: object; url?: object }
    | undefined;
  if (!elicitation) return false;
  // An empty `elicitation: {}` is the older form-only declaration.
  if (mode === 'form') return elicitation.form !== undefined || elicitation.url === undefined;
  return elicitation.url !== undefined;
}

/** Asks the client's user to confirm the prepared summary (confirm mode); true only on an explicit yes. */
export async function confirmWithUser(extra: CallExtra, summary: unknown): Promise<boolean> {
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
export function showApproval(extra: CallExtra, url: string, approvalId: string): void {
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
