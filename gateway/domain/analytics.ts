/**
 * Workspace analytics (issue 14, item 6): what `computeAnalytics` answers. Times are epoch ms
 * (the route writes them as ISO 8601), money is integer minor units grouped by currency (DESIGN §3),
 * evaluation costs are integer micros of the operator's billing unit.
 */

export type AnalyticsGranularity = 'day' | 'hour';

/** Spend counted as DESIGN §6 counts it (succeeded, or admitted and not yet finished), per currency. */
export interface SpendAmount {
  currency: string;
  /** Sum of the amounts, integer minor units. */
  amount: number;
  /** How many counted transactions carried it. */
  count: number;
}

export interface SpendByKey extends SpendAmount {
  key: string | null;
}

export interface SpendBucket extends SpendAmount {
  /** Start of the UTC bucket (inclusive), epoch ms. */
  start: number;
}

export interface LimitUsage {
  id: string;
  interval: string;
  /** Null for `per_transaction` limits, which have no window to be used up. */
  window: 'rolling' | 'calendar' | null;
  currency: string;
  categories: string[] | null;
  /** Start of the limit's current window (epoch ms), null for per_transaction. */
  windowStart: number | null;
  /** Counted spend in that window: posted plus reserved (DESIGN §6). */
  used: number;
  /** Of `used`, still reserved (admitted, not finished). */
  reserved: number;
  limit: number;
  /** used / limit (may exceed 1 after a policy tightened); null for per_transaction. */
  share: number | null;
}

export interface AnomalyBaseline {
  /**
   * Median of the agent's previous `window` buckets (at most 14, at least 7; counted from its first
   * active bucket; empty buckets count as 0).
   */
  median: number;
  /** Median absolute deviation of those buckets. */
  mad: number;
  /** The largest of those buckets: a flag is always above anything the agent did before. */
  max: number;
  /**
   * The value above which a bucket is flagged: max(3 × median, median + 4 × MAD, max), and at
   * least 5 for requests. No flag without a baseline: fewer than 7 buckets since the agent's first
   * activity, or none of them above 0 for that metric.
   */
  threshold: number;
  /** How many previous buckets the baseline spans. */
  window: number;
}

export interface AnomalyFlag {
  agentId: string;
  metric: 'spend' | 'requests';
  /** Set for spend flags: the currency compared. */
  currency: string | null;
  /** Start of the flagged bucket, epoch ms. */
  bucketStart: number;
  observed: number;
  baseline: AnomalyBaseline;
}

export interface AgentCost {
  agentId: string;
  /** Sum of `transactions.cost_micros` snapshotted at admission. */
  costMicros: number;
  /** How many admitted executes/evaluations carried a cost. */
  count: number;
}

export interface Analytics {
  range: { from: number; to: number; granularity: AnalyticsGranularity; buckets: number };
  /** Executes and evaluations proposed in the range, by how they were decided. */
  decisions: {
    /** Proposals with a final decision (auto-approved, human-approved, rejected, expired). */
    decided: number;
    autoApproved: number;
    humanApproved: number;
    /** Refused by the policy (execute mode refusals are not proposals and do not count). */
    policyRejected: number;
    humanRejected: number;
    /** Approval deadlines that ran out without approval. */
    expired: number;
    /** Still parked (pending approval or queued) at `to`. */
    pending: number;
    /** (autoApproved + humanApproved) / decided; null when nothing was decided. */
    approvalRate: number | null;
    /** autoApproved / decided; null when nothing was decided. */
    autoApproveRate: number | null;
  };
  rejections: {
    /** Policy rejections by the rule or control id that refused (`categories`, a limit id, …). */
    byRule: { ruleId: string; count: number }[];
    /** Rejected by an approver (counted apart from the rules). */
    human: number;
  };
  /** From the approval's creation to the human decision (approved or rejected), ms. */
  decisionTime: { count: number; medianMs: number | null; p90Ms: number | null };
  spend: {
    total: SpendAmount[];
    byBusiness: SpendByKey[];
    byCategory: SpendByKey[];
    byAgent: SpendByKey[];
    byPeriod: SpendBucket[];
  };
  /** Each limit of the workspace's active (`default`) policy, in its own current window. */
  limits: { policy: { name: string; version: number } | null; usage: LimitUsage[] };
  cost: { totalMicros: number; count: number; byAgent: AgentCost[] };
  anomalies: AnomalyFlag[];
}

/**
 * What one policy evaluation costs a workspace (issue 14): the default, and per-agent prices that
 * override it. Micros are millionths of the operator's billing unit.
 */
export interface Pricing {
  evaluationPriceMicros: number;
  agents: Record<string, number>;
}
