import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GatewayError } from '../../domain/index.ts';
import { formatAmount, whyApproval } from '../../notify/format.ts';
import { canDecide, decideApproval, getApproval } from '../../services/approvals/index.ts';
import { definePage, field, type PageContext, type Tone } from '../page.ts';
import { peopleOf } from '../people.ts';
import { DecisionFields, Stages } from '../views/approval.tsx';
import { Badge, CsrfField, Deadline } from '../views/layout.tsx';
import { Time } from '../views/time.tsx';

const DONE: Record<string, string> = {
  approve: 'You approved this request.',
  reject: 'You rejected this request.',
};

/** The approval, everything it authorises, and the forms to decide it when the member can. */
async function show(
  p: PageContext,
  extra: { notice?: { tone: Tone; text: string }; status?: ContentfulStatusCode } = {},
) {
  const id = p.param('id');
  const [{ approval, transaction: t }, person] = await Promise.all([
    getApproval({ ctx: p.ctx, input: { id } }),
    peopleOf(p, { you: true }),
  ]);
  const now = p.deps.clock();
  const member = p.session.member;
  const stage = approval.stages.find((s) => s.status === 'pending');
  const decidable = canDecide(approval, member, now);
  const critical = stage?.tier === 'critical_otp';
  const why = t ? whyApproval(t) : undefined;
  const amount = t ? formatAmount(t.amount, t.currency) : 'no amount';
  const myVote = approval.votes.find((v) => v.memberId === member.memberId);
  const notice =
    extra.notice ??
    (p.c.req.query('done') && DONE[p.c.req.query('done') ?? '']
      ? { tone: 'ok' as const, text: DONE[p.c.req.query('done') ?? ''] ?? '' }
      : p.c.req.query('otp') === 'sent'
        ? {
            tone: 'info' as const,
            text: `A one-time code was sent to ${member.email}. It is valid for 10 minutes.`,
          }
        : undefined);
  return p.render({
    title: `Approval of ${amount}`,
    status: extra.status,
    notice,
    countdown: approval.status === 'pending',
    body: (
      <>
        <h1>
          {amount}
          {t?.businessId ? ` at ${t.businessId}` : ' (an evaluation)'} by {t?.agentId ?? 'an agent'}
        </h1>
        <div class="grid2">
          <section class="card" aria-labelledby="summary-h">
            <h2 id="summary-h">Request</h2>
            <dl class="facts">
              <dt>Approval</dt>
              <dd>
                <Badge status={approval.status} />
              </dd>
              <dt>Transaction</dt>
              <dd>
                {t ? (
                  <>
                    <a href={`/console/transactions/${t.id}`}>{t.id}</a> <Badge status={t.status} />
                  </>
                ) : (
                  approval.transactionId
                )}
              </dd>
              <dt>Business</dt>
              <dd>{t?.businessId ?? 'none: the agent’s own system executes it'}</dd>
              <dt>Agent</dt>
              <dd>{t?.agentId}</dd>
              <dt>Amount</dt>
              <dd>{amount}</dd>
              <dt>Requested</dt>
              <dd>
                <Time at={approval.createdAt} />
              </dd>
              <dt>Deadline</dt>
              <dd>{stage ? <Deadline at={stage.deadlineAt} now={now} /> : 'none: decided'}</dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="why-h">
            <h2 id="why-h">Why this needs approval</h2>
            <dl class="facts">
              <dt>Policy</dt>
              <dd>{t?.policyName ?? 'default'}</dd>
              <dt>Rule</dt>
              <dd id="rule">{why?.rule}</dd>
              <dt>Reason</dt>
              <dd>{why?.reason}</dd>
            </dl>
            {why && why.failed.length > 0 ? (
              <ul class="muted">
                {why.failed.map((f) => (
                  <li>{f}</li>
                ))}
              </ul>
            ) : null}
            <details>
              <summary>The full decision</summary>
              <pre tabindex={0}>{JSON.stringify(t?.decision ?? null, null, 2)}</pre>
            </details>
          </section>
        </div>
        <section class="card" aria-labelledby="stages-h">
          <h2 id="stages-h">Stages</h2>
          <Stages approval={approval} />
          {approval.votes.length > 0 ? (
            <ul class="muted" id="votes">
              {approval.votes.map((v) => (
                <li>
                  Stage {v.position + 1}: {v.decision === 'approve' ? 'approved' : 'rejected'} by{' '}
                  {person(v.memberId)} ({v.via}) at <Time at={v.createdAt} />
                  {v.reason ? `: “${v.reason}”` : ''}
                </li>
              ))}
            </ul>
          ) : null}
        </section>
        <section class="card" aria-labelledby="request-h">
          <h2 id="request-h">The full request</h2>
          <pre tabindex={0} id="request">
            {JSON.stringify(t?.request ?? null, null, 2)}
          </pre>
        </section>
        <section class="card" aria-labelledby="decide-h">
          <h2 id="decide-h">Your decision</h2>
          {decidable ? (
            <>
              {critical ? (
                <form method="post" action={`/console/approvals/${approval.id}/otp`}>
                  <CsrfField value={p.csrf} />
                  <p class="muted">
                    This stage is critical: approving needs a one-time code sent to your email.
                  </p>
                  <button type="submit" class="secondary">
                    Send me a code
                  </button>
                </form>
              ) : null}
              <form method="post" action={`/console/approvals/${approval.id}/decision`}>
                <CsrfField value={p.csrf} />
                <DecisionFields critical={critical} />
              </form>
            </>
          ) : (
            <p id="not-decidable">
              {myVote ? (
                <>
                  You {myVote.decision === 'approve' ? 'approved' : 'rejected'} this request on{' '}
                  <Time at={myVote.createdAt} />.
                </>
              ) : approval.status !== 'pending' ? (
                `This request is ${approval.status}: nothing is waiting for a decision.`
              ) : stage && stage.role !== member.role ? (
                `The active stage needs the ${stage.role} role; you are ${member.role}.`
              ) : (
                'The deadline of the active stage has passed.'
              )}
            </p>
          )}
        </section>
      </>
    ),
  });
}

/** A refusal the member can act on (a wrong code, a decision that lost a race): the page again, saying why. */
async function again(p: PageContext, error: unknown) {
  if (
    error instanceof GatewayError &&
    ['FORBIDDEN', 'CONFLICT', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE'].includes(error.code)
  ) {
    for (const [name, value] of Object.entries(error.headers ?? {})) p.c.header(name, value);
    return show(p, {
      notice: { tone: 'error', text: error.message },
      status: error.status as ContentfulStatusCode,
    });
  }
  throw error;
}

/** Issue 14 item 2: one approval in full, with approve and reject (the same services as the API). */
export default definePage({
  path: '/console/approvals/:id',
  summary: 'One approval: the request, why it needs approval, the stages, and the decision forms',
  section: '/console/approvals',
  get: (p) => show(p),
  actions: [
    {
      path: '/console/approvals/:id/decision',
      summary: 'Approve or reject the active stage (fields: decision, reason, otp)',
      async handle(p, form) {
        const decision = field(form, 'decision');
        if (decision !== 'approve' && decision !== 'reject') {
          return show(p, { notice: { tone: 'error', text: 'Choose Approve or Reject.' }, status: 400 });
        }
        const approvalId = p.param('id');
        const member = p.session.member;
        const reason = field(form, 'reason').trim().slice(0, 1000) || undefined;
        const code = field(form, 'otp').replace(/\s+/g, '') || undefined;
        try {
          // As POST /v1/approvals/:id/approve: the code first (critical stages), then the vote.
          const otpVerified =
            decision === 'approve' &&
            (await p.services.otp.confirm({ workspaceId: member.workspaceId, approvalId, member, code }));
          await decideApproval({
            ctx: p.ctx,
            input: { approvalId, member, decision, reason, via: 'console', otpVerified },
          });
        } catch (error) {
          return again(p, error);
        }
        return p.redirect(`/console/approvals/${approvalId}?done=${decision}`);
      },
    },
    {
      path: '/console/approvals/:id/otp',
      summary: 'Email a 6-digit code for the active critical stage',
      async handle(p) {
        const approvalId = p.param('id');
        const member = p.session.member;
        try {
          await p.services.otp.send({ workspaceId: member.workspaceId, approvalId, member });
        } catch (error) {
          return again(p, error);
        }
        // Post/redirect/get: reloading the page does not send another code.
        return p.redirect(`/console/approvals/${approvalId}?otp=sent`);
      },
    },
  ],
});
