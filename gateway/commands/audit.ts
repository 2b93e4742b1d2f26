import { verifyAllChains, verifyChain } from '../services/ledger/index.ts';
import { callApi, type RemoteOptions } from './api.ts';
import type { CommandContext } from './context.ts';
import { line, paint, printJson } from './output.ts';

/** `{valid, checked, firstBrokenId}` as GET /v1/audit/verify answers it, and each chain's when local. */
export interface AuditVerdict {
  valid: boolean;
  checked: number;
  firstBrokenId: string | null;
  chains?: { workspaceId: string | null; valid: boolean; checked: number; firstBrokenId: string | null }[];
}

/**
 * `warden audit verify [--workspace <id>]`: recomputes the hash chains of this host's database
 * (DESIGN §9) and says whether they hold, each chain's verdict too; `--json` prints
 * `{valid, checked, firstBrokenId, chains}`. Exits 1 when a chain is broken.
 */
export async function auditVerify(
  ctx: CommandContext,
  options: { workspace?: string; json?: boolean },
): Promise<number> {
  const { workspace } = options;
  const chains = workspace
    ? [{ chain: workspace, verdict: await verifyChain(ctx.db.reader, workspace) }]
    : await verifyAllChains(ctx.db.reader);
  const broken = chains.find((c) => !c.verdict.valid);
  const verdict: AuditVerdict = {
    valid: !broken,
    checked: chains.reduce((n, c) => n + c.verdict.checked, 0),
    firstBrokenId: broken?.verdict.firstBrokenId ?? null,
    chains: chains.map((c) => ({ workspaceId: c.chain === '' ? null : c.chain, ...c.verdict })),
  };
  printAuditVerdict(verdict, options.json === true, 'this database');
  return verdict.valid ? 0 : 1;
}

/**
 * `warden audit verify --url <gateway> --token <member token>`: the gateway recomputes the chain of
 * the token's workspace (GET /v1/audit/verify, admin) and the verdict is printed the same way.
 */
export async function auditVerifyRemote(options: RemoteOptions): Promise<number> {
  const verdict = await callApi<AuditVerdict>(options, 'GET', '/v1/audit/verify');
  printAuditVerdict(verdict, options.json === true, options.url);
  return verdict.valid ? 0 : 1;
}

function printAuditVerdict(verdict: AuditVerdict, json: boolean, where: string): void {
  if (json) {
    printJson(verdict);
    return;
  }
  const events = `${verdict.checked} event${verdict.checked === 1 ? '' : 's'} checked`;
  if (verdict.valid) line(`${paint('green', 'VALID')}  the audit chain holds (${events}, ${where}).`);
  else {
    line(
      `${paint('red', 'BROKEN')}  the audit chain does not hold (${events}, ${where}): the first event missing or changed is ${verdict.firstBrokenId ?? 'unknown'}.`,
    );
  }
  for (const chain of verdict.chains ?? []) {
    const name = chain.workspaceId ?? 'operator';
    const state = chain.valid ? 'valid' : `broken at ${chain.firstBrokenId ?? 'unknown'}`;
    line(`  ${name}: ${state} (${chain.checked} checked)`);
  }
}
