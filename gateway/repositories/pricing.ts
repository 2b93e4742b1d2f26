import { columns, onlyNumber } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { Pricing } from '../domain/index.ts';
import { bumpConfigVersion } from './config.ts';

/**
 * Evaluation prices (issue 14): the workspace default and per-agent overrides. A change bumps the
 * config version in its transaction, so every replica's cached prices (services/config-cache.ts)
 * are dropped and the next execute snapshots the new price.
 */

const DEFAULT_PRICE = sql('SELECT evaluation_price_micros FROM workspaces WHERE id = ?', onlyNumber);
const PRICE = columns('agent_prices', ['agent_id', 'price_micros']);
const AGENT_PRICES = sql(
  `SELECT ${PRICE.list} FROM agent_prices WHERE workspace_id = ? ORDER BY agent_id`,
  PRICE.map((r) => [r.agent_id, Number(r.price_micros)] as const),
);
const SET_DEFAULT = sql('UPDATE workspaces SET evaluation_price_micros = ? WHERE id = ?');
const CLEAR_AGENTS = sql('DELETE FROM agent_prices WHERE workspace_id = ?');
const INSERT_AGENT = sql(
  'INSERT INTO agent_prices (workspace_id, agent_id, price_micros, updated_at) VALUES (?, ?, ?, ?)',
);

export async function getPricing(conn: Conn, workspaceId: string): Promise<Pricing> {
  const [evaluationPriceMicros, agents] = await Promise.all([
    conn.get(DEFAULT_PRICE, [workspaceId]),
    conn.all(AGENT_PRICES, [workspaceId]),
  ]);
  return { evaluationPriceMicros: evaluationPriceMicros ?? 0, agents: Object.fromEntries(agents) };
}

/** Replaces the default and every agent price (PUT semantics); false when the workspace is unknown. */
export async function replacePricing(
  tx: Conn,
  workspaceId: string,
  pricing: Pricing,
  at: number,
): Promise<boolean> {
  if ((await tx.run(SET_DEFAULT, [pricing.evaluationPriceMicros, workspaceId])) === 0) return false;
  await tx.run(CLEAR_AGENTS, [workspaceId]);
  for (const [agentId, price] of Object.entries(pricing.agents)) {
    await tx.run(INSERT_AGENT, [workspaceId, agentId, price, at]);
  }
  await bumpConfigVersion(tx);
  return true;
}
