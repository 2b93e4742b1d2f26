import type { Approval, Transaction } from '../../domain/index.ts';
import { formatAmount, whyApproval } from '../../notify/format.ts';
import { listDecidable, listDecided } from '../../services/approvals/index.ts';
import { definePage } from '../page.ts';
import { Badge, Deadline } from '../views/layout.tsx';
import { Time } from '../views/time.tsx';

const LIMIT = 100;

type Row = { approval: Approval; transaction: Transaction | undefined };

const Table = ({ rows, now, history }: { rows: Row[]; now: number; history: boolean }) => (
  <section class="table-wrap" tabindex={0} aria-label="Table (scrolls sideways)">
    <table class="stack" id={history ? 'history' : 'queue'}>
      <caption>{history ? 'Decided approvals, newest first' : 'Waiting for you, newest first'}</caption>
      <thead>
        <tr>
          <th scope="col">Requested</th>
          <th scope="col" class="num">
            Amount
          </th>
          <th scope="col">Business</th>
          <th scope="col">Agent</th>
          <th scope="col">Rule</th>
          <th scope="col">{history ? 'Outcome' : 'Stage'}</th>
          <th scope="col">{history ? 'Decided' : 'Deadline'}</th>
          <th scope="col">
            <span class="visually-hidden">Open</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ approval, transaction: t }) => {
          const stage = approval.stages.find((s) => s.status === 'pending');
          const amount = t ? formatAmount(t.amount, t.currency) : '';
          return (
            <tr data-approval={approval.id}>
              <td data-label="Requested">
                <Time at={approval.createdAt} />
              </td>
              <td data-label="Amount" class="num">
                {amount}
              </td>
              <td data-label="Business">{t?.businessId ?? 'evaluation'}</td>
              <td data-label="Agent">{t?.agentId ?? ''}</td>
              <td data-label="Rule">{t ? whyApproval(t).rule : ''}</td>
              <td data-label={history ? 'Outcome' : 'Stage'}>
                {history ? (
                  <Badge status={approval.status} />
                ) : stage ? (
                  `${stage.position + 1} of ${approval.stages.length}: ${stage.role}${stage.tier === 'critical_otp' ? ' (code)' : ''}`
                ) : (
                  ''
                )}
              </td>
              <td data-label={history ? 'Decided' : 'Deadline'}>
                {history ? (
                  <Time at={approval.updatedAt} />
                ) : (
                  <Deadline at={stage?.deadlineAt ?? null} now={now} />
                )}
              </td>
              <td data-label="Open">
                <a
                  href={`/console/approvals/${approval.id}`}
                  aria-label={`Review ${amount} by ${t?.agentId ?? ''}`}
                >
                  Review
                </a>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  </section>
);

/** Issue 14 item 2: what the member can decide now, and a history of what was decided. */
export default definePage({
  path: '/console/approvals',
  summary: 'The approvals queue: what this member can decide now; ?tab=history for decided ones',
  nav: { label: 'Approvals', order: 10 },
  async get(p) {
    const history = p.c.req.query('tab') === 'history';
    const now = p.deps.clock();
    const rows = history
      ? await listDecided({ ctx: p.ctx, input: { limit: LIMIT } })
      : await listDecidable({ ctx: p.ctx, input: { member: p.session.member, limit: LIMIT } });
    return p.render({
      title: history ? 'Approval history' : 'Approvals',
      countdown: !history,
      body: (
        <>
          <h1>Approvals</h1>
          <nav class="tabs" aria-label="Approvals">
            <a href="/console/approvals" aria-current={history ? undefined : 'page'}>
              Waiting for you
            </a>
            <a href="/console/approvals?tab=history" aria-current={history ? 'page' : undefined}>
              History
            </a>
          </nav>
          {rows.length === 0 ? (
            <p class="card" id={history ? 'history-empty' : 'queue-empty'}>
              {history
                ? 'Nothing has been decided yet.'
                : `Nothing is waiting for you: no pending approval's active stage needs the ${p.session.member.role} role and your decision.`}
            </p>
          ) : (
            <Table rows={rows} now={now} history={history} />
          )}
        </>
      ),
    });
  },
});
