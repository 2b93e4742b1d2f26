import { WardenClient, type WardenClientOptions } from './index.ts';

/** `@warden/client` for Node 20+: the same client, and one made from the environment. */
export * from './index.ts';

/**
 * A client from `WARDEN_URL` and `WARDEN_AGENT_KEY` (the names the examples use), with `options`
 * on top.
 */
export function clientFromEnv(
  options: Partial<WardenClientOptions> = {},
  env: Record<string, string | undefined> = process.env,
): WardenClient {
  const baseUrl = options.baseUrl ?? env.WARDEN_URL;
  const agentKey = options.agentKey ?? env.WARDEN_AGENT_KEY;
  if (!baseUrl || !agentKey)
    throw new Error('Set WARDEN_URL and WARDEN_AGENT_KEY (or pass baseUrl and agentKey).');
  return new WardenClient({ ...options, baseUrl, agentKey });
}
