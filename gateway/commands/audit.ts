import { verifyAllChains, verifyChain } from '../services/ledger/index.ts';
import type { CommandContext } from './context.ts';

/**
 * `warden audit verify [--workspace <id>]`: recomputes the hash chains (DESIGN §9) and prints
 * `{valid, checked, firstBrokenId}` like GET /v1/audit/verify, with each chain's verdict; exits 1
 * when a chain is broken.
 */
export async function auditVerify(ctx: CommandContext, options: { workspace?: string }): Promise<number> {
  const { workspace } = options;
  const chains = workspace
    ? [{ chain: workspace, verdict: await verifyChain(ctx.db.reader, workspace) }]
    : await verifyAllChains(ctx.db.reader);
  const broken = chains.find((c) => !c.verdict.valid);
  ctx.out(
    JSON.stringify({
      valid: !broken,
      checked: chains.reduce((n, c) => n + c.verdict.checked, 0),
      firstBrokenId: broken?.verdict.firstBrokenId ?? null,
      chains: chains.map((c) => ({ workspaceId: c.chain === '' ? null : c.chain, ...c.verdict })),
    }),
  );
  return broken ? 1 : 0;
}
