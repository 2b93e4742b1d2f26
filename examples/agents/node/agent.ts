import { pathToFileURL } from 'node:url';
import { clientFromEnv, type WardenClient } from '@warden/client';

/**
 * A plain Node agent on @warden/client, no framework: discover a business, buy through the gate
 * (waiting for an approver when the policy asks), and check the receipt it gets.
 *
 *   WARDEN_URL=http://localhost:8080 WARDEN_AGENT_KEY=wk_… npx tsx examples/agents/node/agent.ts
 */
export async function buy(
  client: WardenClient,
  order: { businessId: string; request: Record<string, unknown> },
  log: (line: string) => void = console.log,
  wait?: { intervalMs?: number },
) {
  const offer = await client.discover(order.businessId);
  log(`discovered ${order.businessId}: ${JSON.stringify(offer.data)}`);
  const done = await client.executeAndWait(order, wait);
  log(`${done.transactionId}: ${done.status}`);
  if (!done.receipt) return { ...done, verified: false };
  const check = await client.verifyReceipt(done.transactionId, { request: order.request });
  log(`receipt ${check.valid ? 'verified' : `NOT valid: ${check.problems.join(' ')}`}`);
  return { ...done, verified: check.valid };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The execute mode decides whether a token is needed; prepare only when the gateway asks.
  const client = clientFromEnv({ autoPrepare: 'when-required' });
  await buy(client, {
    businessId: 'echo',
    request: { sku: 'coffee-beans', quantity: 1, amount_cents: 2400 },
  });
}
