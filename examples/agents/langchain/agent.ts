import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';
import type { WardenClient } from '@warden/client';
import type { ToolOptions } from '../warden-tools.ts';
import { wardenTools } from './tools.ts';

/**
 * The smallest tool-calling loop on LangChain.js core: the model answers, its tool calls run
 * (Warden's tools), their results go back, until it answers without calling one. (With the
 * `langchain` package, `createAgent({ model, tools: wardenTools(client) })` does the same.)
 */
export async function runLangChainAgent(
  model: BaseChatModel,
  client: WardenClient,
  task: string,
  options: ToolOptions & { maxSteps?: number } = {},
): Promise<{ answer: string; messages: BaseMessage[] }> {
  const tools: StructuredToolInterface[] = wardenTools(client, options);
  if (!model.bindTools) throw new Error('This chat model cannot call tools.');
  const bound = model.bindTools(tools);
  const messages: BaseMessage[] = [
    new SystemMessage('You act on businesses only through the Warden tools.'),
    new HumanMessage(task),
  ];
  for (let step = 0; step < (options.maxSteps ?? 6); step++) {
    const reply = await bound.invoke(messages);
    messages.push(reply);
    const calls = reply.tool_calls ?? [];
    if (calls.length === 0) return { answer: String(reply.content), messages };
    for (const call of calls) {
      const chosen = tools.find((t) => t.name === call.name);
      const output = chosen ? await chosen.invoke(call.args) : { error: `No tool named ${call.name}.` };
      messages.push(
        new ToolMessage({
          tool_call_id: call.id ?? call.name,
          content: typeof output === 'string' ? output : JSON.stringify(output),
        }),
      );
    }
  }
  throw new Error('The agent did not finish within its steps.');
}
