import { type Command, Option } from 'commander';
import { callApi, type RemoteOptions, remote, seg } from './api.ts';
import { fields, money, printJson, statusCell, statusColour, table } from './output.ts';

interface StageView {
  position: number;
  role: string;
  tier: string;
  quorum: number;
  status: string;
  approvals: number;
  deadlineAt: string | null;
}

interface ApprovalView {
  id: string;
  status: string;
  transactionId: string;
  stages: StageView[];
  transaction?: {
    businessId?: string | null;
    agentId?: string;
    amount?: number | null;
    currency?: string | null;
  };
  createdAt: string;
}

/** The stage waiting for people, or the last one once decided. */
const activeStage = (a: ApprovalView) => a.stages.find((s) => s.status === 'active') ?? a.stages.at(-1);

function show(approval: ApprovalView): void {
  const stage = activeStage(approval);
  fields([
    ['approval', approval.id],
    ['status', statusColour(approval.status)],
    ['transaction', approval.transactionId],
    ['business', approval.transaction?.businessId],
    ['agent', approval.transaction?.agentId],
    ['amount', money(approval.transaction?.amount, approval.transaction?.currency)],
    [
      'stage',
      stage ? `${stage.role} (${stage.tier}), ${stage.approvals}/${stage.quorum} approvals` : undefined,
    ],
  ]);
}

/** `warden approvals …`: parked requests waiting for people (DESIGN §5: `/v1/approvals`). */
export function registerApprovalCommands(program: Command): void {
  const group = program
    .command('approvals')
    .description('list, approve and reject parked requests (member token)');

  remote(group.command('list'))
    .description('list approvals the token can see (pending ones by default)')
    .addOption(
      new Option('--status <status>', 'which ones')
        .choices(['pending', 'approved', 'rejected', 'expired'])
        .default('pending'),
    )
    .option('--limit <n>', 'at most this many (1-200)', '50')
    .action(async (opts: RemoteOptions & { status: string; limit: string }) => {
      const query = new URLSearchParams({ status: opts.status, limit: opts.limit });
      const body = await callApi<{ approvals: ApprovalView[] }>(opts, 'GET', `/v1/approvals?${query}`);
      if (opts.json) return printJson(body);
      table(
        body.approvals,
        [
          { header: 'ID', value: (a) => a.id },
          { header: 'STATUS', value: (a) => a.status, colour: statusCell },
          { header: 'TRANSACTION', value: (a) => a.transactionId },
          { header: 'STAGE', value: (a) => activeStage(a)?.role },
          { header: 'DEADLINE', value: (a) => activeStage(a)?.deadlineAt },
          { header: 'CREATED', value: (a) => a.createdAt },
        ],
        `No ${opts.status} approvals.`,
      );
    });

  remote(group.command('approve'))
    .description('approve the active stage of a request, as the token’s member')
    .argument('<id>', 'approval id (apr_…)')
    .option('--reason <text>', 'why, kept with the vote')
    .option('--otp <code>', 'critical stages: the 6-digit code emailed to you')
    .action(async (id: string, opts: RemoteOptions & { reason?: string; otp?: string }) => {
      const body = await callApi<ApprovalView>(opts, 'POST', `/v1/approvals/${seg(id)}/approve`, {
        reason: opts.reason,
        otp: opts.otp,
      });
      if (opts.json) return printJson(body);
      show(body);
    });

  remote(group.command('reject'))
    .description('reject a request: one rejection rejects it')
    .argument('<id>', 'approval id (apr_…)')
    .option('--reason <text>', 'why, kept with the vote')
    .action(async (id: string, opts: RemoteOptions & { reason?: string }) => {
      const body = await callApi<ApprovalView>(opts, 'POST', `/v1/approvals/${seg(id)}/reject`, {
        reason: opts.reason,
      });
      if (opts.json) return printJson(body);
      show(body);
    });
}
