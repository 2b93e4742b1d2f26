import { TRANSACTION_STATUSES, type TransactionFilter, type TransactionStatus } from '../../domain/index.ts';
import { formatAmount } from '../../notify/format.ts';
import { listTransactions } from '../../services/reporting/index.ts';
import { listWorkspaceBusinesses } from '../../services/tenancy/index.ts';
import { definePage, type PageContext } from '../page.ts';
import { Badge } from '../views/layout.tsx';
import { Time } from '../views/time.tsx';

const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;

/** The filters as the form and the URL carry them (every one optional, all strings). */
const KEYS = ['status', 'business', 'agent', 'min', 'max', 'from', 'to', 'limit'] as const;
type Query = Partial<Record<(typeof KEYS)[number] | 'cursor', string>>;

const isDate = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`));
const isAmount = (v: string) => /^\d{1,15}$/.test(v);

/** The service's filter from the query, or the problems to show (a bad value is never ignored silently). */
function parse(q: Query): { filter: TransactionFilter; problems: string[] } {
  const problems: string[] = [];
  const filter: TransactionFilter = { limit: PAGE_SIZE };
  if (q.status) {
    if ((TRANSACTION_STATUSES as readonly string[]).includes(q.status))
      filter.status = q.status as TransactionStatus;
    else problems.push(`There is no status “${q.status}”.`);
  }
  if (q.business) filter.businessId = q.business.slice(0, 128);
  if (q.agent) filter.agentId = q.agent.slice(0, 128);
  for (const [key, name] of [
    ['min', 'amountMin'],
    ['max', 'amountMax'],
  ] as const) {
    const value = q[key];
    if (!value) continue;
    if (isAmount(value)) filter[name] = Number(value);
    else
      problems.push(
        `The ${key === 'min' ? 'minimum' : 'maximum'} amount must be a whole number of minor units (cents).`,
      );
  }
  if (q.from) {
    if (isDate(q.from)) filter.from = Date.parse(`${q.from}T00:00:00Z`);
    else problems.push('“From” must be a date (YYYY-MM-DD).');
  }
  if (q.to) {
    // "To" names a day: everything before the next midnight (UTC).
    if (isDate(q.to)) filter.to = Date.parse(`${q.to}T00:00:00Z`) + DAY_MS;
    else problems.push('“To” must be a date (YYYY-MM-DD).');
  }
  if (q.cursor && /^[A-Za-z0-9_]{1,64}$/.test(q.cursor)) filter.cursor = q.cursor;
  if (q.limit) {
    const n = Number(q.limit);
    if (Number.isInteger(n) && n >= 1 && n <= 200) filter.limit = n;
    else problems.push('The page size must be between 1 and 200.');
  }
  return { filter, problems };
}

/** This page's address with `q` (empty values left out): filters are bookmarkable and shareable. */
function href(q: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v) params.set(k, v);
  const s = params.toString();
  return s ? `/console/transactions?${s}` : '/console/transactions';
}

/**
 * A workspace without a transaction yet: what makes one (an agent calling with its key), with a
 * request to copy against a business the workspace can use, and where the agent API is described.
 */
async function FirstTransaction({ p }: { p: PageContext }) {
  const businesses = await listWorkspaceBusinesses({ ctx: p.ctx });
  const business = businesses.find((b) => b.status === 'live') ?? businesses[0];
  const origin = new URL(p.c.req.url).origin;
  const canCreateKeys = p.session.member.role !== 'approver';
  const body = JSON.stringify({
    businessId: business?.id ?? '<business id>',
    request: business?.id === 'echo' ? { sku: 'sticker', quantity: 1, amount_cents: 50 } : {},
  });
  return (
    <section class="card" id="no-transactions" aria-labelledby="first-h">
      <h2 id="first-h">No transactions yet</h2>
      <p>
        A transaction is recorded each time an agent calls the gateway with its agent key: a discover, a query
        or an execute, whatever the policy then decides. Nothing has called yet.
      </p>
      <ol>
        <li>
          {canCreateKeys ? (
            <>
              Create an agent key under <a href="/console/keys">Keys</a> (it is shown once).
            </>
          ) : (
            'Ask an admin or a developer of this workspace for an agent key.'
          )}
        </li>
        <li>
          Let the agent call {business ? `${business.name} (${business.id})` : 'a business'}, or try it
          yourself:
          <pre tabindex={0}>
            {`curl -s ${origin}/agp/execute \\
  -H 'Authorization: Bearer <agent key>' -H 'Content-Type: application/json' \\
  -d '${body}'`}
          </pre>
        </li>
        <li>It appears here, with the decision, the approval if one was needed, and its receipt.</li>
      </ol>
      <p class="muted">
        Every agent route is in the <a href="/docs">API reference</a>.
      </p>
    </section>
  );
}

/** Issue 14 item 3: the ledger with URL-addressable filters and cursor paging. */
export default definePage({
  path: '/console/transactions',
  summary: 'Transactions: filters (status, business, agent, amount, from/to) in the URL, cursor paging',
  nav: { label: 'Transactions', order: 20 },
  async get(p) {
    const q: Query = {};
    for (const key of [...KEYS, 'cursor'] as const) {
      const value = p.c.req.query(key)?.trim();
      if (value) q[key] = value;
    }
    const { filter, problems } = parse(q);
    const page =
      problems.length === 0 ? await listTransactions({ ctx: p.ctx, input: { filter } }) : undefined;
    const filters: Query = { ...q, cursor: undefined };
    return p.render({
      title: 'Transactions',
      status: problems.length > 0 ? 400 : 200,
      notice: problems.length > 0 ? { tone: 'error', text: problems.join(' ') } : undefined,
      body: (
        <>
          <h1>Transactions</h1>
          <form
            method="get"
            action="/console/transactions"
            class="card filters"
            aria-label="Filter transactions"
          >
            <div>
              <label for="f-status">Status</label>
              <select id="f-status" name="status">
                <option value="">Any</option>
                {TRANSACTION_STATUSES.map((s) => (
                  <option value={s} selected={q.status === s}>
                    {s.replace(/_/g, ' ')}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="f-business">Business</label>
              <input id="f-business" name="business" value={q.business ?? ''} />
            </div>
            <div>
              <label for="f-agent">Agent</label>
              <input id="f-agent" name="agent" value={q.agent ?? ''} />
            </div>
            <div>
              <label for="f-min">Min amount (cents)</label>
              <input id="f-min" name="min" inputmode="numeric" value={q.min ?? ''} />
            </div>
            <div>
              <label for="f-max">Max amount (cents)</label>
              <input id="f-max" name="max" inputmode="numeric" value={q.max ?? ''} />
            </div>
            <div>
              <label for="f-from">From (UTC date)</label>
              <input id="f-from" name="from" type="date" value={q.from ?? ''} />
            </div>
            <div>
              <label for="f-to">To (UTC date, inclusive)</label>
              <input id="f-to" name="to" type="date" value={q.to ?? ''} />
            </div>
            <div class="actions">
              <button type="submit">Filter</button>
              <a class="button secondary" href="/console/transactions">
                Clear
              </a>
            </div>
          </form>
          {page && page.transactions.length === 0 ? (
            Object.keys(filters).some((k) => filters[k as keyof Query]) ? (
              <p class="card" id="no-transactions">
                No transaction matches these filters.
              </p>
            ) : (
              <FirstTransaction p={p} />
            )
          ) : null}
          {page && page.transactions.length > 0 ? (
            <section class="table-wrap" tabindex={0} aria-label="Table (scrolls sideways)">
              <table class="stack" id="transactions">
                <caption>Newest first{q.cursor ? ' (an older page)' : ''}</caption>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Status</th>
                    <th scope="col">Operation</th>
                    <th scope="col">Business</th>
                    <th scope="col">Agent</th>
                    <th scope="col" class="num">
                      Amount
                    </th>
                    <th scope="col">Transaction</th>
                  </tr>
                </thead>
                <tbody>
                  {page.transactions.map((t) => (
                    <tr data-transaction={t.transactionId}>
                      <td data-label="Time">
                        <Time at={t.createdAt} />
                      </td>
                      <td data-label="Status">
                        <Badge status={t.status} />
                      </td>
                      <td data-label="Operation">{t.operation}</td>
                      <td data-label="Business">{t.businessId ?? '—'}</td>
                      <td data-label="Agent">{t.agentId}</td>
                      <td data-label="Amount" class="num">
                        {t.amount === null ? '—' : formatAmount(t.amount, t.currency)}
                      </td>
                      <td data-label="Transaction">
                        <a href={`/console/transactions/${t.transactionId}`}>{t.transactionId}</a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ) : null}
          <nav class="pager" aria-label="Pages">
            {q.cursor ? <a href={href(filters)}>Newest</a> : null}
            {page?.nextCursor ? (
              <a href={href({ ...filters, cursor: page.nextCursor })} rel="next" id="older">
                Older
              </a>
            ) : null}
          </nav>
        </>
      ),
    });
  },
});
