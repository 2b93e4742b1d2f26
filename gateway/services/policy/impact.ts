import { setImmediate as turn } from 'node:timers/promises';
import { compilePolicy, type Decision, validatePolicy } from '../../../policy/index.ts';
import type { Business } from '../../domain/index.ts';
import { getBusiness } from '../../repositories/tenancy.ts';
import { recentExecutesOf } from '../../repositories/transactions.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { loadPolicy } from './policies.ts';
import { simulateWith } from './simulate.ts';

/** How many of the policy's newest executes a dry run replays. */
export const IMPACT_SAMPLE = 1000;
const EXAMPLES = 20;

/** What decided: the rule, else the first control that failed, else the default action. */
function decidedBy(d: Decision): string {
  if (d.ruleId) return `rule ${d.ruleId}`;
  const failed = d.checks.find((c) => c.result === 'fail' && c.control !== 'rule');
  if (failed) return `${failed.control}${failed.id ? ` ${failed.id}` : ''}`;
  return 'default_action';
}

export interface Impact {
  name: string;
  valid: boolean;
  issues: { path: string; message: string }[];
  /** The version a dry run compares against; null when the policy does not exist yet. */
  currentVersion: number | null;
  examined: number;
  changed: number;
  /** The changed decisions grouped by what decides them under the candidate document. */
  byRule: { rule: string; count: number }[];
  examples: { transactionId: string; from: string; to: string; rule: string }[];
}

/**
 * POST /v1/policies/:name/impact (issue 23, `warden policy apply --dry-run`): what storing
 * `document` would change. Each of the policy's last 1,000 executes is decided again, by the
 * current version and by the candidate, with the same facts (the simulate service: its request,
 * business and agent, at the time it was made, with today's spend), and the decisions whose outcome
 * differs are counted by the rule that decides them. Nothing is stored.
 */
export async function policyImpact({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { name: string; document: unknown };
}): Promise<Impact> {
  const { name, document } = input;
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const current = await loadPolicy(deps, workspaceId, name);
  const checked = validatePolicy(document, {
    minApprovalTimeoutSeconds: deps.config.approvalTimeoutMinSeconds,
  });
  const base = {
    name,
    currentVersion: current?.version ?? null,
    examined: 0,
    changed: 0,
    byRule: [],
    examples: [],
  };
  if (!checked.ok) return { ...base, valid: false, issues: checked.issues };
  const candidate = compilePolicy(checked.policy, {
    name,
    version: (current?.version ?? 0) + 1,
    versionId: 'dry-run',
  });
  const transactions = await recentExecutesOf(deps.db.reader, workspaceId, name, IMPACT_SAMPLE);
  const businesses = new Map<string, Business | undefined>();
  const counts = new Map<string, number>();
  const examples: Impact['examples'] = [];
  let examined = 0;
  let changed = 0;
  for (const [i, txn] of transactions.entries()) {
    if (i % 50 === 0) await turn();
    const businessId = txn.businessId as string;
    if (!businesses.has(businessId))
      businesses.set(businessId, await getBusiness(deps.db.reader, businessId));
    const business = businesses.get(businessId);
    if (!business) continue;
    const facts = { business, request: txn.request, agentId: txn.agentId, at: txn.createdAt };
    const before = current ? (await simulateWith(ctx, current, facts)).outcome : storedOutcome(txn.decision);
    const after = await simulateWith(ctx, candidate, facts);
    examined += 1;
    if (before === after.outcome) continue;
    changed += 1;
    const rule = decidedBy(after);
    counts.set(rule, (counts.get(rule) ?? 0) + 1);
    if (examples.length < EXAMPLES)
      examples.push({ transactionId: txn.id, from: before, to: after.outcome, rule });
  }
  const byRule = [...counts.entries()]
    .map(([rule, count]) => ({ rule, count }))
    .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
  return { ...base, valid: true, issues: [], examined, changed, byRule, examples };
}

/** The outcome stored on a transaction when no current version exists to decide again. */
function storedOutcome(decision: unknown): string {
  const outcome = (decision as { outcome?: unknown } | null)?.outcome;
  return typeof outcome === 'string' ? outcome : 'auto_approve';
}
