import { tool } from '@openai/agents';
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
 * Warden as tools for the OpenAI Agents SDK:
 *
 *   const agent = new Agent({ name: 'buyer', instructions, tools: wardenTools(client) });
 *   const result = await run(agent, 'Buy a desk from shop');
 */
export function wardenTools(client: WardenClient, options: ToolOptions = {}) {
  const actions = wardenActions(client, options);
  return [
    tool({
      name: DISCOVER.name,
      description: DISCOVER.description,
      parameters: discoverInput,
      execute: actions.discover,
    }),
    tool({
      name: EXECUTE.name,
      description: EXECUTE.description,
      // `request` is free-form (a business decides its fields), which OpenAI's strict schemas refuse:
      // the schema goes as plain JSON Schema, non-strict, and the input is checked here.
      parameters: {
        type: 'object',
        properties: {
          businessId: { type: 'string', description: 'The business to act on.' },
          request: {
            type: 'object',
            description: 'What to ask the business to do.',
            additionalProperties: true,
          },
        },
        required: ['businessId', 'request'],
        additionalProperties: true,
      },
      strict: false,
      execute: (input) => actions.execute(executeInput.parse(input)),
    }),
  ];
}
