import { type Command, Option } from 'commander';
import { callApi, type RemoteOptions, remote, seg } from './api.ts';
import { fields, line, money, paint, printJson, statusCell, statusColour, table } from './output.ts';

interface TransactionView {
  transactionId: string;
  status: string;
  operation: string;
  businessId: string | null;
  agentId: string;
  amount: number | null;
  currency: string | null;
  policy: string | null;
  approvalId?: string;
  decision?: { outcome?: string; ruleId?: string; reason?: string } | null;
  error?: { code?: string; message?: string } | null;
  receipt?: string | null;
  createdAt: string;
  updatedAt: string;
}

interface ListOptions extends RemoteOptions {
  status?: string;
  operation?: string;
  business?: string;
  agent?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit: string;
}

function show(t: TransactionView): void {
  fields([
    ['transaction', t.transactionId],
    ['status', statusColour(t.status)],
    ['operation', t.operation],
    ['business', t.businessId],
    ['agent', t.agentId],
    ['amount', money(t.amount, t.currency)],
    ['policy', t.policy],
    ['decision', t.decision?.outcome ? statusColour(t.decision.outcome) : undefined],
    ['rule', t.decision?.ruleId],
    ['reason', t.decision?.reason],
    ['approval', t.approvalId],
    ['error', t.error ? `${t.error.message ?? ''} (${t.error.code ?? '?'})` : undefined],
    [
      'receipt',
      t.receipt === undefined ? undefined : t.receipt ? 'yes (warden receipt verify <id>)' : 'none',
    ],
    ['created', t.createdAt],
    ['updated', t.updatedAt],
  ]);
}

/** `warden tx …`: the ledger as members see it (DESIGN §5: `/v1/transactions`). */
export function registerTransactionCommands(program: Command): void {
  const group = program
    .command('tx')
    .description('list, show and resolve transactions (member token; admins resolve)');

  remote(group.command('list'))
    .description('list transactions, newest first')
    .option('--status <status>', 'only this status (e.g. succeeded, unknown, pending_approval)')
    .addOption(
      new Option('--operation <operation>', 'only this operation').choices([
        'discover',
        'query',
        'execute',
        'evaluate',
      ]),
    )
    .option('--business <id>', 'only this business')
    .option('--agent <id>', 'only this agent')
    .option('--from <time>', 'created at or after (ISO 8601)')
    .option('--to <time>', 'created before (ISO 8601)')
    .option('--cursor <cursor>', 'the next page, as a previous list printed it')
    .option('--limit <n>', 'at most this many (1-200)', '50')
    .action(async (opts: ListOptions) => {
      const query = new URLSearchParams();
      for (const [param, value] of [
        ['status', opts.status],
        ['operation', opts.operation],
        ['businessId', opts.business],
        ['agentId', opts.agent],
        ['from', opts.from],
        ['to', opts.to],
        ['cursor', opts.cursor],
        ['limit', opts.limit],
      ] as const) {
        if (value !== undefined) query.set(param, value);
      }
      const body = await callApi<{ transactions: TransactionView[]; nextCursor: string | null }>(
        opts,
        'GET',
        `/v1/transactions?${query}`,
      );
      if (opts.json) return printJson(body);
      table(
        body.transactions,
        [
          { header: 'ID', value: (t) => t.transactionId },
          { header: 'STATUS', value: (t) => t.status, colour: statusCell },
          { header: 'OPERATION', value: (t) => t.operation },
          { header: 'BUSINESS', value: (t) => t.businessId },
          { header: 'AGENT', value: (t) => t.agentId },
          { header: 'AMOUNT', value: (t) => money(t.amount, t.currency) },
          { header: 'CREATED', value: (t) => t.createdAt },
        ],
        'No transactions.',
      );
      if (body.nextCursor) line(paint('dim', `More: --cursor ${body.nextCursor}`));
    });

  remote(group.command('show'))
    .description('show one transaction with its decision and receipt')
    .argument('<id>', 'transaction id (txn_…)')
    .action(async (id: string, opts: RemoteOptions) => {
      const body = await callApi<TransactionView>(opts, 'GET', `/v1/transactions/${seg(id)}`);
      if (opts.json) return printJson(body);
      show(body);
    });

  remote(group.command('resolve'))
    .description('settle an execute whose outcome is unknown, once the business has told you (admins)')
    .argument('<id>', 'transaction id (txn_…)')
    .addOption(
      new Option('--status <status>', 'what the business did')
        .choices(['succeeded', 'failed'])
        .makeOptionMandatory(),
    )
    .requiredOption('--reason <text>', 'how you know, kept in the audit trail')
    .action(async (id: string, opts: RemoteOptions & { status: string; reason: string }) => {
      const body = await callApi<TransactionView>(opts, 'POST', `/v1/transactions/${seg(id)}/resolve`, {
        status: opts.status,
        reason: opts.reason,
      });
      if (opts.json) return printJson(body);
      show(body);
    });
}
