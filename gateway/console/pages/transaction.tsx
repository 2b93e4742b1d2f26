import { formatAmount } from '../../notify/format.ts';
import { getApproval } from '../../services/approvals/index.ts';
import { verifyReceiptOf } from '../../services/ledger/index.ts';
import { getTransaction } from '../../services/reporting/index.ts';
import { definePage } from '../page.ts';
import { Stages } from '../views/approval.tsx';
import { Badge } from '../views/layout.tsx';
import { Time } from '../views/time.tsx';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The checks of a stored decision (DESIGN §6) as rows; empty when it has none. */
function checksOf(decision: unknown): { control: string; id: string; result: string; detail: string }[] {
  const checks = isRecord(decision) && Array.isArray(decision.checks) ? decision.checks.filter(isRecord) : [];
  return checks.map((c) => ({
    control: String(c.control ?? ''),
    id: c.id === undefined || c.id === null ? '' : String(c.id),
    result: String(c.result ?? ''),
    detail: c.detail === undefined ? '' : String(c.detail),
  }));
}

const text = (v: unknown) =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);

/** Issue 14 item 3: one transaction with its decision, its approval and its verified receipt. */
export default definePage({
  path: '/console/transactions/:id',
  summary:
    'One transaction: the request, the decision explained, its approval, its receipt and whether it verifies',
  section: '/console/transactions',
  async get(p) {
    const id = p.param('id');
    const t = await getTransaction({ ctx: p.ctx, input: { id } });
    const approval = t.approvalId
      ? (await getApproval({ ctx: p.ctx, input: { id: t.approvalId } })).approval
      : undefined;
    const receipt = await verifyReceiptOf({ ctx: p.ctx, transactionId: id });
    const decision = isRecord(t.decision) ? t.decision : {};
    const checks = checksOf(t.decision);
    const amount = t.amount === null ? 'no amount' : formatAmount(t.amount, t.currency);
    return p.render({
      title: `Transaction ${t.transactionId}`,
      body: (
        <>
          <h1>
            {t.operation} {t.businessId ? `at ${t.businessId}` : '(an evaluation)'}:{' '}
            <Badge status={t.status} />
          </h1>
          <div class="grid2">
            <section class="card" aria-labelledby="facts-h">
              <h2 id="facts-h">Transaction</h2>
              <dl class="facts">
                <dt>Id</dt>
                <dd>{t.transactionId}</dd>
                <dt>Status</dt>
                <dd id="status">{t.status}</dd>
                <dt>Business</dt>
                <dd>{t.businessId ?? 'none'}</dd>
                <dt>Agent</dt>
                <dd>{t.agentId}</dd>
                {t.oauthClientId ? (
                  <>
                    <dt>Via OAuth client</dt>
                    <dd>
                      <code>{t.oauthClientId}</code>
                    </dd>
                  </>
                ) : null}
                <dt>Amount</dt>
                <dd>{amount}</dd>
                <dt>Spend</dt>
                <dd>{t.spend}</dd>
                <dt>Created</dt>
                <dd>
                  <Time at={t.createdAt} />
                </dd>
                <dt>Updated</dt>
                <dd>
                  <Time at={t.updatedAt} />
                </dd>
                {t.mcp ? (
                  <>
                    <dt>Via MCP</dt>
                    <dd>
                      {t.mcp.tool}
                      {t.mcp.client ? ` (${t.mcp.client.name} ${t.mcp.client.version})` : ''}
                    </dd>
                  </>
                ) : null}
                {t.error ? (
                  <>
                    <dt>Error</dt>
                    <dd>
                      {t.error.code}: {t.error.message}
                    </dd>
                  </>
                ) : null}
              </dl>
            </section>
            <section class="card" aria-labelledby="decision-h">
              <h2 id="decision-h">Decision</h2>
              <dl class="facts">
                <dt>Outcome</dt>
                <dd id="outcome">
                  {t.decision === null
                    ? 'no policy: the execute mode admitted it'
                    : text(decision.outcome) || '—'}
                </dd>
                <dt>Policy</dt>
                <dd>
                  {t.policy ?? 'default'}
                  {isRecord(decision.policy) && decision.policy.version !== undefined
                    ? ` v${text(decision.policy.version)}`
                    : ''}
                </dd>
                <dt>Rule</dt>
                <dd>{text(decision.ruleId) || '—'}</dd>
                <dt>Reason</dt>
                <dd>{text(decision.reason) || '—'}</dd>
              </dl>
            </section>
          </div>
          {checks.length > 0 ? (
            <section class="table-wrap" tabindex={0} aria-label="Table (scrolls sideways)">
              <table class="stack" id="checks">
                <caption>Every check of the decision</caption>
                <thead>
                  <tr>
                    <th scope="col">Control</th>
                    <th scope="col">Id</th>
                    <th scope="col">Result</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {checks.map((c) => (
                    <tr>
                      <td data-label="Control">{c.control}</td>
                      <td data-label="Id">{c.id}</td>
                      <td data-label="Result">{c.result}</td>
                      <td data-label="Detail">{c.detail}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ) : null}
          {approval ? (
            <section class="card" aria-labelledby="approval-h">
              <h2 id="approval-h">Approval</h2>
              <p>
                <a href={`/console/approvals/${approval.id}`}>{approval.id}</a>{' '}
                <Badge status={approval.status} />
              </p>
              <Stages approval={approval} />
            </section>
          ) : null}
          <section class="card" aria-labelledby="receipt-h">
            <h2 id="receipt-h">Receipt</h2>
            {receipt ? (
              <>
                <p id="receipt-state">
                  {receipt.valid ? (
                    <span class="badge good">verified</span>
                  ) : receipt.names?.valid !== false && receipt.log?.appended === false ? (
                    <span class="badge">awaiting the log</span>
                  ) : (
                    <span class="badge bad">does not verify</span>
                  )}{' '}
                  {receipt.names?.valid === false
                    ? `Signature valid (key ${receipt.signature.kid ?? '?'}), but it is not this transaction's receipt. ${receipt.names.error ?? ''}`
                    : receipt.signature.valid
                      ? `Signature valid (key ${receipt.signature.kid ?? '?'}); ${
                          receipt.log?.included
                            ? `entry ${receipt.log.index} of this workspace's ledger log, included in the checkpoint of ${receipt.log.size} entries.`
                            : receipt.log?.appended === false
                              ? 'signed and stored; the ledger log appends it within seconds.'
                              : `not included in the ledger log: ${receipt.log?.error ?? ''}`
                        }`
                      : `Signature invalid: ${receipt.signature.error ?? ''}`}
                </p>
                {receipt.payload ? (
                  <>
                    <p class="muted">
                      Issued <Time at={receipt.payload.issuedAt} />. Check it yourself with{' '}
                      <code>warden receipt verify {t.transactionId}</code> or against
                      /.well-known/warden-keys.
                    </p>
                    <details>
                      <summary>The receipt (compact JWS) and what it says</summary>
                      <pre tabindex={0}>{JSON.stringify(receipt.payload, null, 2)}</pre>
                      <pre tabindex={0}>{receipt.receipt}</pre>
                    </details>
                  </>
                ) : (
                  <p class="muted">
                    The ledger holds another receipt in its place, so it is not shown. An operator can check
                    it with <code>warden receipt verify {t.transactionId}</code>.
                  </p>
                )}
              </>
            ) : (
              <p id="receipt-state">No receipt yet: one is issued when the transaction settles.</p>
            )}
          </section>
          <section class="card" aria-labelledby="request-h">
            <h2 id="request-h">Request</h2>
            <pre tabindex={0} id="request">
              {JSON.stringify(t.request, null, 2)}
            </pre>
            {t.data !== null && t.data !== undefined ? (
              <>
                <h2>Response data</h2>
                <pre tabindex={0} id="data">
                  {JSON.stringify(t.data, null, 2)}
                </pre>
              </>
            ) : null}
          </section>
        </>
      ),
    });
  },
});
