import type { WardenClient } from '@warden/client';
import { tool } from 'ai';
import {
  DISCOVER,
  discoverInput,
  EXECUTE,
  executeInput,
  type ToolOptions,
  wardenActions,
} from '../warden-tools.ts';

/**
 * Warden as tools for the Vercel AI SDK (v6):
 *
 *   const result = await generateText({ model, tools: wardenTools(client), stopWhen: stepCountIs(5), prompt });
 */
export function wardenTools(client: WardenClient, options: ToolOptions = {}) {
  const actions = wardenActions(client, options);
  return {
    [DISCOVER.name]: tool({
      description: DISCOVER.description,
      inputSchema: discoverInput,
      execute: actions.discover,
    }),
    [EXECUTE.name]: tool({
      description: EXECUTE.description,
      inputSchema: executeInput,
      execute: actions.execute,
    }),
  };
}
