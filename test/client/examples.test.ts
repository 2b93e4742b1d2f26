import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import {
  Agent,
  type Model,
  type ModelRequest,
  type ModelResponse,
  run,
  setTracingDisabled,
  Usage,
} from '@openai/agents';
import { WardenClient } from '@warden/client';
import { generateText, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLangChainAgent } from '../../examples/agents/langchain/agent.ts';
import { buy } from '../../examples/agents/node/agent.ts';
import { wardenTools as openAiAgentTools } from '../../examples/agents/openai-agents/tools.ts';
import { wardenTools as vercelTools } from '../../examples/agents/vercel-ai/tools.ts';
import {
  call,
  createTenant,
  listen,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { approveNext } from './support.ts';

/**
 * The example agents (examples/agents/) against a real gateway in confirm mode, each driven by a
 * scripted model (no network): discover the shop, buy a desk the policy sends to an approver, wait
 * inside the tool while a person approves, and hand the outcome back to the model.
 */

const DESK = { businessId: 'shop', request: { sku: 'desk', amount_cents: 8000 } };
const WAIT = { wait: { intervalMs: 20, maxIntervalMs: 80 } };

describe('example agents', () => {
  let gw: TestGateway;
  let gateway: { url: string; close: () => Promise<void> };
  let upstream: Upstream;
  let tenant: Tenant;
  let client: WardenClient;
  const seen = new Set<string>();
  const desksSold = () => upstream.requests.filter((r) => JSON.parse(r.body).request?.sku === 'desk').length;

  beforeAll(async () => {
    setTracingDisabled(true);
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ status: 'succeeded', data: { orderId: `ord_${upstream.requests.indexOf(req)}` } }),
      );
    });
    gw = await startTestGateway({ env: { AGENR_EXECUTE_POLICY: 'confirm' } });
    await registerHttpBusiness(gw, upstream.url, 'shop');
    gateway = await listen(gw);
    tenant = await createTenant(gw);
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: tenant.adminToken,
      body: {
        rules: [
          {
            id: 'big',
            conditions: [{ field: 'amount_cents', op: 'gte', value: 5000 }],
            action: 'require_approval',
          },
        ],
        routing_stages: [{ stage_index: 0, role: 'admin', approval_timeout_seconds: 3600 }],
      },
    });
    expect(put.status).toBe(201);
    client = new WardenClient({
      baseUrl: gateway.url,
      agentKey: tenant.agentKey,
      autoPrepare: 'when-required',
      retry: { baseMs: 10, maxMs: 50 },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await gw?.dispose();
    await upstream?.close();
  });

  it('the plain Node agent buys through an approval and verifies its receipt', async () => {
    const before = desksSold();
    const lines: string[] = [];
    const [done] = await Promise.all([
      buy(client, DESK, (line) => lines.push(line), WAIT.wait),
      approveNext(gw, tenant, seen),
    ]);
    expect(done).toMatchObject({ status: 'succeeded', verified: true });
    expect(lines[0]).toMatch(/^discovered shop: /);
    expect(lines.at(-1)).toBe('receipt verified');
    expect(desksSold()).toBe(before + 1);
  });

  it('Vercel AI SDK: a scripted model calls the tools; the approved outcome reaches it', async () => {
    const before = desksSold();
    const usage = {
      inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 1, text: 1, reasoning: undefined },
    };
    const toolCall = (id: string, toolName: string, input: unknown) => ({
      content: [{ type: 'tool-call' as const, toolCallId: id, toolName, input: JSON.stringify(input) }],
      finishReason: { unified: 'tool-calls' as const, raw: undefined },
      usage,
      warnings: [],
    });
    const model = new MockLanguageModelV3({
      doGenerate: [
        toolCall('c1', 'warden_discover', { businessId: 'shop' }),
        toolCall('c2', 'warden_execute', DESK),
        {
          content: [{ type: 'text', text: 'Bought the desk.' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage,
          warnings: [],
        },
      ],
    });
    const [result] = await Promise.all([
      generateText({
        model,
        tools: vercelTools(client, WAIT),
        stopWhen: stepCountIs(5),
        prompt: 'Buy a desk from the shop.',
      }),
      approveNext(gw, tenant, seen),
    ]);
    expect(result.text).toBe('Bought the desk.');
    const executed = result.steps[1]?.toolResults[0];
    expect(executed).toMatchObject({ toolName: 'warden_execute', output: { status: 'succeeded' } });
    // The model's third call saw the tool's result in its prompt.
    expect(JSON.stringify(model.doGenerateCalls[2]?.prompt)).toContain('succeeded');
    expect(desksSold()).toBe(before + 1);
  });

  it('OpenAI Agents SDK: a custom scripted Model runs the tools through an approval', async () => {
    const before = desksSold();
    const model = new ScriptedAgentsModel([
      [functionCall('c1', 'warden_discover', { businessId: 'shop' })],
      [functionCall('c2', 'warden_execute', DESK)],
      [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Bought the desk.' }],
        },
      ],
    ]);
    const agent = new Agent({
      name: 'buyer',
      instructions: 'Buy through the Warden tools.',
      model,
      tools: openAiAgentTools(client, WAIT),
    });
    const [result] = await Promise.all([
      run(agent, 'Buy a desk from the shop.'),
      approveNext(gw, tenant, seen),
    ]);
    expect(result.finalOutput).toBe('Bought the desk.');
    const outputs = result.newItems.filter((i) => i.type === 'tool_call_output_item');
    expect(outputs).toHaveLength(2);
    expect(JSON.stringify(outputs[1]?.toJSON().output)).toContain('succeeded');
    // The model's last request carried the execute's outcome.
    expect(JSON.stringify(model.requests[2]?.input)).toContain('succeeded');
    expect(desksSold()).toBe(before + 1);
  });

  it('LangChain.js: a scripted chat model calls the tools in the loop; the outcome comes back as a ToolMessage', async () => {
    const before = desksSold();
    const model = new ScriptedChatModel([
      new AIMessage({
        content: '',
        tool_calls: [{ id: 'c1', name: 'warden_discover', args: { businessId: 'shop' }, type: 'tool_call' }],
      }),
      new AIMessage({
        content: '',
        tool_calls: [{ id: 'c2', name: 'warden_execute', args: DESK, type: 'tool_call' }],
      }),
      new AIMessage('Bought the desk.'),
    ]);
    const [result] = await Promise.all([
      runLangChainAgent(model, client, 'Buy a desk from the shop.', WAIT),
      approveNext(gw, tenant, seen),
    ]);
    expect(result.answer).toBe('Bought the desk.');
    expect(model.boundTools).toEqual(['warden_discover', 'warden_execute']);
    const toolMessages = result.messages.filter((m) => m.getType() === 'tool');
    expect(JSON.parse(String(toolMessages[1]?.content))).toMatchObject({ status: 'succeeded' });
    expect(desksSold()).toBe(before + 1);
  });

  it('a refusal reaches the model as data, not as a crash', async () => {
    const refusing = new WardenClient({
      baseUrl: gateway.url,
      agentKey: tenant.agentKey,
      retry: { baseMs: 10 },
    });
    const tools = vercelTools(refusing, WAIT);
    const out = await tools.warden_execute.execute?.(DESK, { toolCallId: 'x', messages: [] });
    expect(out).toMatchObject({ refused: 'CONFIRMATION_REQUIRED' });
  });
});

type AgentsOutput = ModelResponse['output'];

function functionCall(callId: string, name: string, input: unknown): AgentsOutput[number] {
  return { type: 'function_call', callId, name, arguments: JSON.stringify(input), status: 'completed' };
}

/** An Agents SDK Model that answers from a script, one turn per call, and keeps what it was asked. */
class ScriptedAgentsModel implements Model {
  readonly requests: ModelRequest[] = [];
  constructor(private readonly script: AgentsOutput[]) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(request);
    const output = this.script.shift();
    if (!output) throw new Error('The script has no more turns.');
    return { usage: new Usage(), output, responseId: `resp_${this.requests.length}` };
  }
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error('The scripted model does not stream.');
  }
}

/** A LangChain chat model that answers from a script and records the tools bound to it. */
class ScriptedChatModel extends BaseChatModel {
  boundTools: string[] = [];
  constructor(private readonly script: AIMessage[]) {
    super({});
  }
  _llmType(): string {
    return 'scripted';
  }
  override bindTools(tools: { name?: string }[]) {
    this.boundTools = tools.map((t) => t.name ?? '');
    return this;
  }
  async _generate(_messages: BaseMessage[]): Promise<ChatResult> {
    const message = this.script.shift();
    if (!message) throw new Error('The script has no more turns.');
    return { generations: [{ text: String(message.content), message }] };
  }
}
