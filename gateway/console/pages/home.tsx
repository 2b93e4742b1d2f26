import { setImmediate as turn } from 'node:timers/promises';
import type { Analytics, SpendAmount } from '../../domain/analytics.ts';
import type { Role } from '../../domain/index.ts';
import { countDecidable } from '../../services/approvals/index.ts';
import { listWebhooks } from '../../services/notifications/index.ts';
import { DEFAULT_POLICY, listPolicies } from '../../services/policy/index.ts';
import { recentAnalytics } from '../../services/reporting/index.ts';
import { listAgentKeys, listMembers, listWorkspaceBusinesses } from '../../services/tenancy/index.ts';
import { definePage, type PageContext } from '../page.ts';
import { BarChart, ColumnChart, type Datum, LimitMeters } from '../views/charts.tsx';
import { Time } from '../views/time.tsx';

/**
 * /console, the overview (issue 14, item 6): the workspace's analytics as server-rendered SVG
 * charts with a table behind each (computeAnalytics, the same service as the analytics API), and a
 * setup checklist for a new workspace, each item read from real data and linking to its page.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RANGES = {
  '24h': { label: 'Last 24 hours', granularity: 'hour', bucket: HOUR, buckets: 24 },
  '7d': { label: 'Last 7 days', granularity: 'day', bucket: DAY, buckets: 7 },
  '30d': { label: 'Last 30 days', granularity: 'day', bucket: DAY, buckets: 30 },
} as const;
type RangeKey = keyof typeof RANGES;

/** Money in minor units as people read it; an unknown currency code as `1234 XYZ (minor units)`. */
export function money(minor: number, currency: string): string {
  const format = formatterOf(currency);
  if (!format) return `${minor} ${currency} (minor units)`;
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minor / 10 ** digits);
}

/** One formatter per currency (a new Intl.NumberFormat costs ~40 µs); null for an unknown code. */
const FORMATTERS = new Map<string, Intl.NumberFormat | null>();
function formatterOf(currency: string): Intl.NumberFormat | null {
  let format = FORMATTERS.get(currency);
  if (format === undefined) {
    try {
      format = new Intl.NumberFormat('en', { style: 'currency', currency });
    } catch {
      format = null;
    }
    if (FORMATTERS.size >= 1_000) FORMATTERS.clear();
    FORMATTERS.set(currency, format);
  }
  return format;
}

/** A duration in ms as people read it (`42 s`, `3.5 min`, `2.1 h`). */
export function duration(ms: number | null): string {
  if (ms === null) return 'n/a';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < HOUR) return `${Math.round(ms / 6000) / 10} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

/** Evaluation costs are micros of the operator's billing unit (DESIGN §9, issue 14). */
const units = (micros: number) => `${(micros / 1_000_000).toFixed(micros % 10_000 === 0 ? 2 : 6)} units`;

const percent = (share: number | null) => (share === null ? 'n/a' : `${Math.round(share * 1000) / 10} %`);
const iso = (ms: number) => new Date(ms).toISOString();
const bucketLabel = (ms: number, granularity: string) =>
  granularity === 'hour' ? `${iso(ms).slice(11, 13)}:00` : iso(ms).slice(5, 10);

const currencies = (items: { currency: string }[]) => [...new Set(items.map((i) => i.currency))].sort();

interface Step {
  id: string;
  done: boolean;
  text: string;
  detail: string;
  href: string;
  link: string;
  /** Who may open `href` (every member when absent); others are told who does it. */
  roles?: readonly Role[];
}

async function checklist(p: PageContext): Promise<Step[]> {
  const [businesses, keys, policies, members, hooks] = await Promise.all([
    listWorkspaceBusinesses({ ctx: p.ctx }),
    listAgentKeys({ ctx: p.ctx }),
    listPolicies({ ctx: p.ctx }),
    listMembers({ ctx: p.ctx }),
    listWebhooks({ ctx: p.ctx }),
  ]);
  const reachable = businesses.filter((b) => b.status === 'live' || b.status === 'sandbox');
  const liveKeys = keys.filter((k) => k.revokedAt === null);
  const policy = policies.find((x) => x.name === DEFAULT_POLICY);
  const approvers = members.filter((m) => m.role === 'approver');
  return [
    {
      id: 'business',
      done: reachable.length > 0,
      text: 'A business your agents can reach',
      detail: reachable.length
        ? `${reachable.length} available`
        : 'none yet: the gateway operator registers them',
      href: '/console/businesses',
      link: 'Businesses',
    },
    {
      id: 'key',
      done: liveKeys.length > 0,
      text: 'An agent key',
      detail: liveKeys.length ? `${liveKeys.length} active` : 'none active',
      href: '/console/keys',
      link: 'Create a key',
      roles: ['admin', 'developer'],
    },
    {
      id: 'policy',
      done: policy !== undefined,
      text: 'A policy saved',
      detail: policy
        ? `${policy.name} v${policy.version}`
        : `no "${DEFAULT_POLICY}" policy yet: agents' requests execute with no limit and no approval`,
      href: '/console/policy',
      link: 'Edit the policy',
      roles: ['admin', 'developer'],
    },
    {
      id: 'approver',
      done: approvers.length > 0,
      text: 'An approver member',
      detail: approvers.length ? approvers.map((m) => m.email).join(', ') : 'nobody has the approver role',
      href: '/console/members',
      link: 'Invite an approver',
      roles: ['admin'],
    },
    {
      id: 'webhook',
      done: hooks.length > 0,
      text: 'A webhook',
      detail: hooks.length ? `${hooks.length} subscribed` : 'none: events are not pushed anywhere',
      href: '/console/webhooks',
      link: 'Add a webhook',
      roles: ['admin'],
    },
  ];
}

const Checklist = ({ steps, role }: { steps: Step[]; role: Role }) => {
  const done = steps.filter((s) => s.done).length;
  return (
    <section class="card" aria-labelledby="setup-h" id="setup">
      <h2 id="setup-h">
        Setup: {done} of {steps.length} done
      </h2>
      <ul class="checklist">
        {steps.map((s) => (
          <li id={`setup-${s.id}`} data-done={s.done ? 'yes' : 'no'}>
            <span class={`badge ${s.done ? 'good' : 'wait'}`}>{s.done ? 'Done' : 'Not done'}</span>
            <strong>{s.text}</strong>
            <span class="muted">{s.detail}</span>
            {!s.roles || s.roles.includes(role) ? (
              <a href={s.href}>{s.link}</a>
            ) : (
              <span class="muted">(an {s.roles[0]} does this)</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
};

const spendData = (
  items: (SpendAmount & { key: string | null })[],
  currency: string,
  empty: string,
): Datum[] =>
  items
    .filter((i) => i.currency === currency)
    .sort((a, b) => b.amount - a.amount)
    .slice(0, 12)
    .map((i) => ({ label: i.key ?? empty, value: i.amount, text: money(i.amount, currency) }));

/** Every bucket of the range, zero where nothing was spent, so the bars line up with time. */
function periodData(a: Analytics, currency: string): Datum[] {
  const { from, granularity, buckets } = a.range;
  const size = granularity === 'hour' ? HOUR : DAY;
  const found = new Map(
    a.spend.byPeriod.filter((b) => b.currency === currency).map((b) => [b.start, b.amount]),
  );
  return Array.from({ length: buckets }, (_, i) => {
    const start = from + i * size;
    const amount = found.get(start) ?? 0;
    return { label: bucketLabel(start, granularity), value: amount, text: money(amount, currency) };
  });
}

export const AnalyticsView = ({ a }: { a: Analytics }) => {
  const d = a.decisions;
  const rejected = d.policyRejected + d.humanRejected;
  const rates: Datum[] = [
    { label: 'Approved (auto or by a person)', value: d.approvalRate ?? 0, text: percent(d.approvalRate) },
    { label: 'Auto-approved', value: d.autoApproveRate ?? 0, text: percent(d.autoApproveRate) },
    {
      label: 'Rejected (policy or person)',
      value: d.decided ? rejected / d.decided : 0,
      text: percent(d.decided ? rejected / d.decided : null),
    },
  ];
  const spendCurrencies = currencies([...a.spend.total, ...a.spend.byPeriod]);
  const meters = a.limits.usage
    .filter((u) => u.share !== null)
    .map((u) => ({
      label: `${u.id} (${u.interval}${u.window ? `, ${u.window}` : ''})`,
      used: u.used,
      limit: u.limit,
      text: `${money(u.used, u.currency)} of ${money(u.limit, u.currency)} (${percent(u.share)})${
        u.reserved ? `, ${money(u.reserved, u.currency)} reserved` : ''
      }`,
    }));
  const perTransaction = a.limits.usage.filter((u) => u.share === null);
  return (
    <>
      <section class="card" aria-labelledby="decisions-h" id="decisions">
        <h2 id="decisions-h">Decisions</h2>
        <dl class="stats">
          <div>
            <dt>Decided</dt>
            <dd class="big">{d.decided}</dd>
          </div>
          <div>
            <dt>Auto-approved</dt>
            <dd class="big">{d.autoApproved}</dd>
          </div>
          <div>
            <dt>Approved by a person</dt>
            <dd class="big">{d.humanApproved}</dd>
          </div>
          <div>
            <dt>Rejected by policy</dt>
            <dd class="big">{d.policyRejected}</dd>
          </div>
          <div>
            <dt>Rejected by a person</dt>
            <dd class="big">{d.humanRejected}</dd>
          </div>
          <div>
            <dt>Expired</dt>
            <dd class="big">{d.expired}</dd>
          </div>
          <div>
            <dt>Pending</dt>
            <dd class="big">{d.pending}</dd>
          </div>
          <div>
            <dt>Human decision time (median)</dt>
            <dd class="big" id="decision-median">
              {duration(a.decisionTime.medianMs)}
            </dd>
          </div>
          <div>
            <dt>90th percentile</dt>
            <dd class="big">{duration(a.decisionTime.p90Ms)}</dd>
          </div>
        </dl>
        <BarChart
          id="chart-rates"
          caption="Approval, auto-approve and rejection rates"
          head={['Rate', 'Share']}
          data={rates}
          scale={1}
        />
        {a.rejections.byRule.length ? (
          <BarChart
            id="chart-rejections"
            caption="Policy rejections by rule"
            head={['Rule', 'Rejections']}
            data={a.rejections.byRule.map((r) => ({
              label: r.ruleId,
              value: r.count,
              text: String(r.count),
            }))}
          />
        ) : null}
      </section>

      <section class="card" aria-labelledby="spend-h" id="spend">
        <h2 id="spend-h">Spend</h2>
        {spendCurrencies.length === 0 ? <p>Nothing spent in this period.</p> : null}
        {spendCurrencies.map((cur) => {
          const total = a.spend.total.find((t) => t.currency === cur);
          return (
            <>
              <p>
                Total {cur}: <strong>{money(total?.amount ?? 0, cur)}</strong> in {total?.count ?? 0}{' '}
                transactions.
              </p>
              <ColumnChart
                id={`chart-period-${cur}`}
                caption={`Spend per ${a.range.granularity} (${cur})`}
                head={[a.range.granularity === 'hour' ? 'Hour (UTC)' : 'Day (UTC)', 'Spend']}
                data={periodData(a, cur)}
              />
              <div class="charts">
                <BarChart
                  id={`chart-business-${cur}`}
                  caption={`Spend by business (${cur})`}
                  head={['Business', 'Spend']}
                  data={spendData(a.spend.byBusiness, cur, '(none)')}
                />
                <BarChart
                  id={`chart-agent-${cur}`}
                  caption={`Spend by agent (${cur})`}
                  head={['Agent', 'Spend']}
                  data={spendData(a.spend.byAgent, cur, '(none)')}
                />
              </div>
            </>
          );
        })}
      </section>

      {a.cost.count > 0 ? (
        <section class="card" aria-labelledby="cost-h" id="cost">
          <h2 id="cost-h">Evaluation cost</h2>
          <p>
            {a.cost.count} priced {a.cost.count === 1 ? 'call' : 'calls'}:{' '}
            <strong>{units(a.cost.totalMicros)}</strong> of the operator's billing unit.
          </p>
          <BarChart
            id="chart-cost-agent"
            caption="Evaluation cost by agent"
            head={['Agent', 'Cost']}
            data={[...a.cost.byAgent]
              .sort((x, y) => y.costMicros - x.costMicros)
              .slice(0, 12)
              .map((c) => ({ label: c.agentId, value: c.costMicros, text: units(c.costMicros) }))}
          />
        </section>
      ) : null}

      <section class="card" aria-labelledby="limits-h" id="limits">
        <h2 id="limits-h">Spend against limits</h2>
        {a.limits.policy === null ? (
          <p>No active policy, so no limits.</p>
        ) : meters.length === 0 && perTransaction.length === 0 ? (
          <p>
            Policy {a.limits.policy.name} v{a.limits.policy.version} has no spending limits.
          </p>
        ) : (
          <>
            <p class="muted">
              Each limit of policy {a.limits.policy.name} v{a.limits.policy.version}, in its current window.
            </p>
            {meters.length ? (
              <LimitMeters id="chart-limits" caption="Spend against each limit" data={meters} />
            ) : null}
            {perTransaction.length ? (
              <p>
                Per-transaction limits (no window):{' '}
                {perTransaction.map((u) => `${u.id} at most ${money(u.limit, u.currency)}`).join('; ')}.
              </p>
            ) : null}
          </>
        )}
      </section>

      <section class="card" aria-labelledby="anomalies-h" id="anomalies">
        <h2 id="anomalies-h">Anomalies</h2>
        {a.anomalies.length === 0 ? (
          <p>No agent stood out from its usual activity in this period.</p>
        ) : (
          <div class="table-wrap">
            <table class="stack">
              <caption class="sr-only">Flagged agents and the baseline they were compared with</caption>
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">What</th>
                  <th scope="col">When (UTC)</th>
                  <th scope="col" class="num">
                    Observed
                  </th>
                  <th scope="col" class="num">
                    Usual (median)
                  </th>
                  <th scope="col" class="num">
                    Flagged above
                  </th>
                  <th scope="col">Baseline</th>
                </tr>
              </thead>
              <tbody>
                {a.anomalies.map((f) => {
                  const show = (n: number) =>
                    f.metric === 'spend' && f.currency ? money(n, f.currency) : String(n);
                  return (
                    <tr>
                      <td data-label="Agent">{f.agentId}</td>
                      <td data-label="What">
                        {f.metric === 'spend' ? `spend (${f.currency ?? ''})` : 'requests'}
                      </td>
                      <td data-label="When">
                        <Time at={f.bucketStart} />
                      </td>
                      <td data-label="Observed" class="num">
                        {show(f.observed)}
                      </td>
                      <td data-label="Usual (median)" class="num">
                        {show(f.baseline.median)}
                      </td>
                      <td data-label="Flagged above" class="num">
                        {show(f.baseline.threshold)}
                      </td>
                      <td data-label="Baseline">
                        previous {f.baseline.window} {a.range.granularity === 'hour' ? 'hours' : 'days'}:
                        highest {show(f.baseline.max)}, MAD {show(f.baseline.mad)}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
};

export default definePage({
  path: '/console',
  summary: "The overview: the workspace's analytics as charts, and the setup checklist",
  nav: { label: 'Overview', order: 0 },
  async get(p) {
    const { member, workspaceName } = p.session;
    const asked = p.c.req.query('range') ?? '';
    const key: RangeKey = asked in RANGES ? (asked as RangeKey) : '7d';
    const range = RANGES[key];
    // Whole UTC buckets, the current one included: [to - n buckets, end of the current bucket).
    const now = p.deps.clock();
    const to = Math.floor(now / range.bucket) * range.bucket + range.bucket;
    const from = to - range.buckets * range.bucket;
    // One after another, the event loop turning between them (issue 18): the checklist, the queue,
    // the analytics (read in steps of their own) and the page itself each hold it a few ms at most.
    const steps = await checklist(p);
    await turn();
    const waiting = await countDecidable({ ctx: p.ctx, input: { member, cap: 100 } });
    await turn();
    let analytics: Analytics | undefined;
    let asOf: number | undefined;
    let unavailable: string | undefined;
    try {
      const input = { from, to, granularity: range.granularity };
      ({ analytics, asOf } = await recentAnalytics({ ctx: p.ctx, input }));
    } catch (error) {
      p.deps.logger.warn({ err: error }, 'console overview: analytics not available');
      unavailable = 'Analytics are not available right now.';
    }
    await turn();
    return p.render({
      title: 'Overview',
      body: (
        <>
          <h1>{workspaceName}</h1>
          <p class="muted">
            Signed in as <strong>{member.email}</strong>, {member.role}.
          </p>
          <p>
            <a href="/console/approvals" id="waiting">
              {waiting === 0
                ? 'No approval is waiting for you'
                : `${waiting === 100 ? '100 or more' : waiting} approval${waiting === 1 ? '' : 's'} waiting for you`}
            </a>
          </p>
          {steps.every((s) => s.done) ? null : <Checklist steps={steps} role={member.role} />}
          <nav class="tabs" aria-label="Period">
            {(Object.keys(RANGES) as RangeKey[]).map((k) => (
              <a href={`/console?range=${k}`} aria-current={k === key ? 'page' : undefined}>
                {RANGES[k].label}
              </a>
            ))}
          </nav>
          <p class="muted" id="range">
            <Time at={from} /> to <Time at={to} />, per {range.granularity}
            {asOf === undefined ? null : (
              <>
                ; figures as of <Time at={asOf} /> (at most 30 s old)
              </>
            )}
            .
          </p>
          {analytics ? (
            <AnalyticsView a={analytics} />
          ) : (
            <p class="card" id="analytics-unavailable" role="status">
              {unavailable}
            </p>
          )}
          {steps.every((s) => s.done) ? <Checklist steps={steps} role={member.role} /> : null}
        </>
      ),
    });
  },
});
