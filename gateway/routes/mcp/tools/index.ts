import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { discoverTool } from './discover.ts';
import { evaluateTool } from './evaluate.ts';
import { executeTool } from './execute.ts';
import { getStatusTool } from './get-status.ts';
import { listBusinessesTool } from './list-businesses.ts';
import { prepareExecuteTool } from './prepare-execute.ts';
import { queryTool } from './query.ts';
import { codedSdkErrors, type Tool, toolKit } from './tool.ts';

export { type CallerInfo, callerAuth } from './tool.ts';

/**
 * The agent API's tools (issue 13), one file each: each calls the same service as its REST route,
 * with the same context. A new tool is a file exporting `defineTool({...})` (or a `Tool` when it
 * needs more than one call, as execute) and its entry here, in the order tools/list shows.
 */
const TOOLS: readonly Tool[] = [
  listBusinessesTool,
  discoverTool,
  queryTool,
  prepareExecuteTool,
  executeTool,
  getStatusTool,
  evaluateTool,
];

export function registerTools(
  server: McpServer,
  options: { approvalUrl: (approvalId: string) => string },
): void {
  codedSdkErrors(server);
  const kit = toolKit(server, options);
  for (const tool of TOOLS) tool.register(server, kit);
}
