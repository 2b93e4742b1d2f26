import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT } from './api.ts';

function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('must be an http:// or https:// URL.');
  }
  return value.replace(/\/+$/, '');
}

/** A JSON-RPC id when the message is a request (it waits for an answer), else undefined. */
function requestId(message: unknown): string | number | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { id, method } = message as { id?: unknown; method?: unknown };
  if (typeof method !== 'string') return undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * Bridges an MCP client that only launches stdio servers to the gateway's Streamable HTTP endpoint:
 * every JSON-RPC message is forwarded both ways, unchanged. stdout carries protocol messages only;
 * anything else goes to stderr.
 */
export async function runMcpStdio(options: { url: string; key?: string }): Promise<void> {
  if (!options.key) {
    throw new CliError('no agent key: pass --key or set WARDEN_AGENT_KEY', 'NO_KEY', EXIT.auth);
  }
  // Loaded here: the SDK is only paid for by this command.
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  const { StreamableHTTPClientTransport } = await import(
    '@modelcontextprotocol/sdk/client/streamableHttp.js'
  );
  const stdio = new StdioServerTransport();
  const http = new StreamableHTTPClientTransport(new URL(`${options.url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${options.key}` } },
  });
  const log = (text: string) => process.stderr.write(`warden mcp-stdio: ${text}\n`);

  let closing = false;
  const closeBoth = async () => {
    if (closing) return;
    closing = true;
    await Promise.allSettled([http.close(), stdio.close()]);
    // stdin may still hold the event loop open once the client has gone.
    process.stdin.destroy();
  };

  stdio.onmessage = (message) => {
    http.send(message).catch((error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      log(text);
      // A request the gateway refused (401, unreachable) is answered, so the client fails, not hangs.
      const id = requestId(message);
      if (id !== undefined) {
        stdio
          .send({ jsonrpc: '2.0', id, error: { code: -32000, message: `Warden gateway: ${text}` } })
          .catch(() => undefined);
      }
    });
  };
  http.onmessage = (message) => {
    // The initialize answer fixes the protocol version the HTTP transport sends on later requests.
    const version = (message as { result?: { protocolVersion?: unknown } }).result?.protocolVersion;
    if (typeof version === 'string') http.setProtocolVersion(version);
    stdio.send(message).catch((error: unknown) => log(String(error)));
  };
  stdio.onerror = (error) => log(error.message);
  http.onerror = (error) => log(error.message);
  stdio.onclose = () => void closeBoth();
  http.onclose = () => void closeBoth();
  process.stdin.on('end', () => void closeBoth());

  await http.start();
  await stdio.start();
}

/** `warden mcp-stdio`: the gateway's MCP endpoint as a stdio server (README "MCP"). */
export function registerMcpStdioCommand(program: Command): void {
  program
    .command('mcp-stdio')
    .description("serve the gateway's MCP endpoint (<url>/mcp) over stdio, for clients that launch a command")
    .addOption(
      new Option('--url <url>', 'base URL of the gateway')
        .env('WARDEN_URL')
        .default('http://localhost:8080')
        .argParser(parseUrl),
    )
    .addOption(new Option('--key <key>', 'agent key the tools act with').env('WARDEN_AGENT_KEY'))
    .action(async (options: { url: string; key?: string }) => {
      await runMcpStdio(options);
    });
}
