import { AGENT_BODY, SUCCEEDED } from '../config.ts';
import { workerLoad } from '../lib/load.ts';
import { httpLoad } from './http-load.ts';
import type { GatewayDriver } from './types.ts';

/** The MCP `tools/call` of `execute` with the same business and request as AGENT_BODY (issue 13). */
const mcpCall = (id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'execute', arguments: JSON.parse(AGENT_BODY) },
  });
const MCP_ACCEPT = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };

/** MCP_SESSIONS=none: every POST is a self-contained tools/call answered in JSON; autocannon as for REST. */
export const mcpStatelessDriver: GatewayDriver = async (gateway, key, settings) => {
  const load = await httpLoad(
    {
      url: gateway.url,
      path: '/mcp',
      headers: { authorization: `Bearer ${key}`, ...MCP_ACCEPT },
      body: mcpCall(1),
      expectBodyIncludes: SUCCEEDED,
    },
    settings,
  );
  return { load, okExecutes: load.okRequestsIncludingWarmup };
};

/**
 * MCP_SESSIONS=memory (the default): one session opened with `initialize`, then every worker sends
 * tools/call with its own JSON-RPC id (ids must be unique within a session) and reads the event stream.
 */
export const mcpSessionDriver: GatewayDriver = async (gateway, key, settings) => {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...MCP_ACCEPT };
  const init = await fetch(`${gateway.url}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    }),
  });
  await init.text();
  const session = init.headers.get('mcp-session-id');
  if (!session) throw new Error(`initialize opened no session (${init.status})`);
  const withSession = { ...headers, 'mcp-session-id': session };
  const initialized = await fetch(`${gateway.url}/mcp`, {
    method: 'POST',
    headers: withSession,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await initialized.text();
  let next = 1;
  let okExecutes = 0;
  const load = await workerLoad(gateway.url, settings, async (send) => {
    const res = await send('/mcp', mcpCall(next++), withSession);
    if (res.status !== 200) return;
    if (!res.body.includes(SUCCEEDED))
      throw new Error(`tools/call did not succeed: ${res.body.slice(0, 300)}`);
    okExecutes++;
  });
  return { load, okExecutes };
};
