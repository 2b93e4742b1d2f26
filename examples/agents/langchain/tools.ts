import { tool } from '@langchain/core/tools';
import type { WardenClient } from '@warden/client';
import {
  DISCOVER,
  discoverInput,
  EXECUTE,
  executeInput,
  type ToolOptions,
  wardenActions,
} from '../warden-tools.ts';

/**
 * Warden as LangChain.js tools: bind them to any chat model that calls tools
 * (`model.bindTools(wardenTools(client))`) or hand them to an agent (`createAgent({ model, tools })`).
 */
export function wardenTools(client: WardenClient, options: ToolOptions = {}) {
  const actions = wardenActions(client, options);
  return [
    tool(actions.discover, { name: DISCOVER.name, description: DISCOVER.description, schema: discoverInput }),
    tool(actions.execute, { name: EXECUTE.name, description: EXECUTE.description, schema: executeInput }),
  ];
}
