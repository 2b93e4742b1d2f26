import { raw } from 'hono/html';
import type { FC, PropsWithChildren } from 'hono/jsx';
import type { Approval, Transaction } from '../../domain/index.ts';
import { formatAmount, whyApproval } from '../../notify/format.ts';
import type { ActiveLink } from '../../services/approvals/index.ts';
import { ASSETS, assetUrl } from '../assets/index.ts';
import { DecisionFields, Stages } from '../views/approval.tsx';
import { Notice } from '../views/layout.tsx';
import { Time } from '../views/time.tsx';

/**
 * The emailed approval page in the console's look (issue 21): the same stylesheet, header bar, cards
 * and buttons (an Approve button at WCAG AA contrast), read without a session. The stylesheet is the
 * console's fingerprinted file, so the link's CSP allows styles from this origin and nothing inline.
 */
export const Document: FC<PropsWithChildren<{ title: string }>> = ({ title, children }) => (
  <>
    {raw('<!DOCTYPE html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{title} · Warden</title>
        <link rel="stylesheet" href={assetUrl(ASSETS.css)} />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <div class="top-inner">
            <span class="brand">Warden · approval</span>
          </div>
        </header>
        <main id="main" class="medium" tabindex={-1}>
          {children}
        </main>
      </body>
    </html>
  </>
);

const Summary: FC<{ transaction: Transaction; businessName: string }> = ({ transaction, businessName }) => (
  <dl class="facts">
    <dt>Business</dt>
    <dd>{businessName}</dd>
    <dt>Agent</dt>
    <dd>{transaction.agentId}</dd>
    <dt>Amount</dt>
    <dd>{formatAmount(transaction.amount, transaction.currency)}</dd>
    <dt>Requested</dt>
    <dd>
      <Time at={transaction.createdAt} />
    </dd>
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
      {error ? <Notice tone="error" text={error} /> : null}
      {info ? <Notice tone="info" text={info} /> : null}
      <section class="card">
        <h1>
          Approve {amount}
          {transaction.businessId ? ` at ${business?.name ?? transaction.businessId}` : ' (an evaluation)'}?
        </h1>
        <Summary transaction={transaction} businessName={businessName} />
      </section>
      <section class="card">
        <h2>Why this needs approval</h2>
        <dl class="facts">
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
          Your stage ends <Time at={stage.deadlineAt} />; then the request is{' '}
          {stage.onTimeout === 'reject' ? 'rejected' : 'escalated to the next stage'}.
        </p>
      </section>
      <section class="card">
        <h2>The full request</h2>
        <pre id="request" tabindex={0}>
          {JSON.stringify(transaction.request, null, 2)}
        </pre>
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
