/**
 * What a decision is made from, gathered by the gateway per request. Its own file because both the
 * evaluator (evaluate.ts) and the compiled conditions it calls (conditions.ts) read it.
 */
export interface Facts {
  request: Record<string, unknown>;
  /** Normalised minor units (`normaliseAmount`), or null when the request has none. */
  amount: number | null;
  /** The request currency, else the policy's. */
  currency: string;
  business: { id: string; category: string };
  agentId: string;
  /** Epoch ms. */
  now: number;
  /** Limit id → counted amount (succeeded + reserved) in that limit's current window. */
  spend: Record<string, number>;
  firstTimeBusiness: boolean;
}
