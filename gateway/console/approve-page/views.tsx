import { raw } from 'hono/html';
import type { FC, PropsWithChildren } from 'hono/jsx';
import type { Approval, Transaction } from '../../domain/index.ts';
import { formatAmount, formatTime, whyApproval } from '../../notify/format.ts';
import type { ActiveLink } from '../../services/links.ts';
import { DecisionFields, Stages } from '../views/approval.tsx';

const STYLE = `
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
  body { margin: 0; background: #f4f5f7; color: #1d2330; }
  main { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  .card { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 1.25rem 1.5rem; margin-bottom: 1rem; }
  header { font-size: .85rem; color: #5b6474; letter-spacing: .04em; text-transform: uppercase; margin-bottom: .5rem; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  h2 { font-size: 1.05rem; margin: 0 0 .75rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
  dt { color: #5b6474; }
  dd { margin: 0; font-weight: 500; word-break: break-word; }
  pre { background: #0f1420; color: #e6e9ef; padding: 1rem; border-radius: 6px; overflow-x: auto; font-size: .85rem; }
  ol.stages { list-style: none; padding: 0; margin: 0; }
  ol.stages li { padding: .5rem .75rem; border-left: 4px solid #c7ccd6; margin-bottom: .4rem; background: #fafbfc; }
  ol.stages li.pending { border-color: #d08c00; background: #fff8e6; }
  ol.stages li.approved { border-color: #1d8a4e; }
  ol.stages li.rejected, ol.stages li.expired { border-color: #c23b32; }
  .state { font-weight: 600; }
  label { display: block; font-weight: 500; margin: .75rem 0 .25rem; }
  textarea, input[type=text] { width: 100%; box-sizing: border-box; padding: .5rem; border: 1px solid #c7ccd6; border-radius: 6px; font: inherit; }
  .actions { display: flex; gap: .75rem; margin-top: 1rem; }
  button { font: inherit; font-weight: 600; padding: .6rem 1.2rem; border-radius: 6px; border: 1px solid transparent; cursor: pointer; }
  .approve { background: #1d8a4e; color: #fff; }
  .reject { background: #fff; color: #c23b32; border-color: #c23b32; }
  .secondary { background: #eef0f4; color: #1d2330; border-color: #c7ccd6; }
  .notice { padding: .75rem 1rem; border-radius: 6px; margin-bottom: 1rem; }
  .notice.error { background: #fdecea; color: #8a1f17; }
  .notice.info { background: #e8f3ff; color: #0b4a8b; }
  .muted { color: #5b6474; font-size: .9rem; }
`;

export const Document: FC<PropsWithChildren<{ title: string }>> = ({ title, children }) => (
  <>
    {raw('<!DOCTYPE html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{title} · Warden</title>
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <main>
          <header>Warden · approval</header>
          {children}
        </main>
      </body>
    </html>
  </>
);

const Summary: FC<{ transaction: Transaction; businessName: string }> = ({ transaction, businessName }) => (
  <dl>
    <dt>Business</dt>
    <dd>{businessName}</dd>
    <dt>Agent</dt>
    <dd>{transaction.agentId}</dd>
    <dt>Amount</dt>
    <dd>{formatAmount(transaction.amount, transaction.currency)}</dd>
    <dt>Requested</dt>
    <dd>{formatTime(transaction.createdAt)}</dd>
    <dt>Transaction</dt>
    <dd>{transaction.id}</dd>
  </dl>
);

export interface ApprovalPageProps {
  active: ActiveLink;
  token: string;
  csrf: string;
  error?: string;
  info?: string;
}

/** What the member is authorising, and the form to decide (plain HTML forms: no JavaScript needed). */
export const ApprovalPage: FC<ApprovalPageProps> = ({ active, token, csrf, error, info }) => {
  const { transaction, business, approval, stage, member } = active;
  const why = whyApproval(transaction);
  // An evaluation names no business: the agent's own system executes what is approved (DESIGN §5).
  const businessName = business
    ? `${business.name} (${business.id})`
    : (transaction.businessId ?? 'none: an evaluation, executed by the agent’s own system');
  const amount = formatAmount(transaction.amount, transaction.currency);
  const critical = stage.tier === 'critical_otp';
  return (
    <Document title={`Approve ${amount}?`}>
      {error ? <div class="notice error">{error}</div> : null}
      {info ? <div class="notice info">{info}</div> : null}
      <section class="card">
        <h1>
          Approve {amount}
          {transaction.businessId ? ` at ${business?.name ?? transaction.businessId}` : ' (an evaluation)'}?
        </h1>
        <Summary transaction={transaction} businessName={businessName} />
      </section>
      <section class="card">
        <h2>Why this needs approval</h2>
        <dl>
          <dt>Rule</dt>
          <dd>{why.rule}</dd>
          <dt>Reason</dt>
          <dd>{why.reason}</dd>
        </dl>
        {why.failed.length > 1 ? (
          <ul class="muted">
            {why.failed.map((f) => (
              <li>{f}</li>
            ))}
          </ul>
        ) : null}
      </section>
      <section class="card">
        <h2>Approval stages</h2>
        <Stages approval={approval} />
        <p class="muted">
          Your stage ends {formatTime(stage.deadlineAt)}; then the request is{' '}
          {stage.onTimeout === 'reject' ? 'rejected' : 'escalated to the next stage'}.
        </p>
      </section>
      <section class="card">
        <h2>The full request</h2>
        <pre id="request">{JSON.stringify(transaction.request, null, 2)}</pre>
      </section>
      <section class="card">
        <h2>Your decision</h2>
        <p class="muted">Signed in by this personal link as {member.email}.</p>
        {critical ? (
          <form method="post" action={`/approve/${token}/otp`}>
            <input type="hidden" name="csrf" value={csrf} />
            <p class="muted">This stage is critical: approving needs a one-time code sent to your email.</p>
            <button type="submit" class="secondary">
              Send me a code
            </button>
          </form>
        ) : null}
        <form method="post" action={`/approve/${token}/decision`}>
          <input type="hidden" name="csrf" value={csrf} />
          <DecisionFields critical={critical} />
        </form>
      </section>
    </Document>
  );
};

const OUTCOME: Record<Transaction['status'], string> = {
  pending: 'It is being executed at the business now.',
  approved: 'It is approved: the agent’s system may now execute it and report the outcome.',
  unknown: 'It was sent to the business, which did not answer: the outcome is not known yet.',
  succeeded: 'The business executed it: succeeded.',
  failed: 'The business was called, and the request failed.',
  pending_confirmation: 'The business asked for a further confirmation.',
  pending_approval: 'It is still waiting for approval.',
  queued: 'It is queued.',
  rejected: 'The request is rejected and will not be executed.',
  expired: 'The request expired.',
};

/** After a decision: what happened to the request. */
export const OutcomePage: FC<{
  decision: 'approve' | 'reject';
  approval: Approval;
  transaction: Transaction | undefined;
}> = ({ decision, approval, transaction }) => {
  const active = approval.stages.find((s) => s.status === 'pending');
  let next: string;
  if (approval.status === 'pending' && active) {
    const have = approval.votes.filter(
      (v) => v.position === active.position && v.decision === 'approve',
    ).length;
    next =
      have > 0 && have < active.quorum
        ? `Waiting for ${active.quorum - have} more approval${active.quorum - have === 1 ? '' : 's'} at stage ${active.position + 1}.`
        : `Waiting for stage ${active.position + 1} (${active.role}).`;
  } else {
    next = transaction ? OUTCOME[transaction.status] : `The approval is ${approval.status}.`;
  }
  const title = decision === 'approve' ? 'You approved this request' : 'You rejected this request';
  return (
    <Document title={title}>
      <section class="card">
        <h1 id="outcome">{title}.</h1>
        <p>{next}</p>
        <Stages approval={approval} />
        {transaction ? <p class="muted">Transaction {transaction.id}.</p> : null}
      </section>
    </Document>
  );
};

/** A link that cannot be used, or any other refusal: a readable page, never an error dump. */
export const MessagePage: FC<{ title: string; message: string }> = ({ title, message }) => (
  <Document title={title}>
    <section class="card">
      <h1 id="outcome">{title}</h1>
      <p>{message}</p>
      <p class="muted">
        If you think this is wrong, ask your workspace admin or open the approval in the console.
      </p>
    </section>
  </Document>
);
