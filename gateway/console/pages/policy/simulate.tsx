import type { Decision } from '../../../../policy/index.ts';
import type { Business } from '../../../domain/index.ts';
import { CsrfField } from '../../views/layout.tsx';
import { Time } from '../../views/time.tsx';
import { pretty } from './document.tsx';

/** The policy page's simulate panel: a request in, what the active version would decide out. */

const SAMPLE_REQUEST = pretty({ sku: 'sticker', quantity: 1, amount_cents: 500, currency: 'USD' });

/** A simulation posted from the panel: its fields as typed, and the decision or what was wrong. */
export interface Simulation {
  businessId: string;
  agentId: string;
  request: string;
  decision?: Decision;
  error?: string;
}

export const SimulatePanel = ({
  name,
  csrf,
  businesses,
  simulation: sim,
  hasActive,
}: {
  name: string;
  csrf: string;
  businesses: Pick<Business, 'id' | 'name' | 'status'>[];
  simulation: Simulation | undefined;
  /** Whether the policy has a version to simulate. */
  hasActive: boolean;
}) => (
  <section class="card" aria-labelledby="simulate-h">
    <h2 id="simulate-h">Simulate</h2>
    <p class="muted">
      What the active version would decide for a request now, with the workspace's live spend. Nothing is
      recorded or reserved.
    </p>
    <form method="post" action="/console/policy/simulate">
      <CsrfField value={csrf} />
      <input type="hidden" name="name" value={name} />
      <label for="sim-business">Business</label>
      <select id="sim-business" name="businessId" required>
        {businesses.map((b) => (
          <option value={b.id} selected={sim?.businessId === b.id}>
            {b.name} ({b.id}){b.status === 'live' ? '' : `, ${b.status}`}
          </option>
        ))}
      </select>
      <label for="sim-agent">Agent id (optional)</label>
      <input id="sim-agent" name="agentId" value={sim?.agentId ?? ''} autocomplete="off" />
      <label for="sim-request">Request (JSON)</label>
      <textarea id="sim-request" name="request" rows={8} spellcheck={false}>
        {sim?.request ?? SAMPLE_REQUEST}
      </textarea>
      <div class="actions">
        <button type="submit" disabled={businesses.length === 0 || !hasActive}>
          Simulate
        </button>
        {businesses.length === 0 ? <span class="muted">No business to simulate against.</span> : null}
      </div>
    </form>
    {sim?.error ? (
      <p class="bad-text" role="alert" id="simulation-error">
        {sim.error}
      </p>
    ) : null}
    {sim?.decision ? <DecisionView decision={sim.decision} /> : null}
  </section>
);

const outcomeText: Record<string, string> = {
  auto_approve: 'Auto-approved',
  reject: 'Rejected',
  approval: 'Needs approval',
  queue: 'Queued until a time window opens',
};

/** A simulated decision: the outcome, what decided it, and every check. */
export const DecisionView = ({ decision }: { decision: Decision }) => (
  <div id="simulation-result">
    <h3>
      Decision: <span class="decision">{outcomeText[decision.outcome] ?? decision.outcome}</span>
    </h3>
    <dl class="facts">
      <dt>Policy</dt>
      <dd>
        {decision.policy.name} v{decision.policy.version}
      </dd>
      {decision.ruleId ? (
        <>
          <dt>Decided by</dt>
          <dd>
            <code>{decision.ruleId}</code>
          </dd>
        </>
      ) : null}
      {decision.reason ? (
        <>
          <dt>Reason</dt>
          <dd>{decision.reason}</dd>
        </>
      ) : null}
      {decision.releaseAt ? (
        <>
          <dt>Released at</dt>
          <dd>
            <Time at={decision.releaseAt} />
          </dd>
        </>
      ) : null}
      {decision.stages?.length ? (
        <>
          <dt>Approval stages</dt>
          <dd>
            {decision.stages
              .map((s) => JSON.stringify(s))
              .join(', ')
              .slice(0, 500)}
          </dd>
        </>
      ) : null}
    </dl>
    <div class="table-wrap">
      <table class="stack">
        <caption>Every check</caption>
        <thead>
          <tr>
            <th scope="col">Control</th>
            <th scope="col">Id</th>
            <th scope="col">Result</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {decision.checks.map((c) => (
            <tr>
              <td data-label="Control">{c.control.replace(/_/g, ' ')}</td>
              <td data-label="Id">{c.id ? <code>{c.id}</code> : ''}</td>
              <td data-label="Result">
                <span class={`badge ${c.result === 'pass' ? 'good' : 'bad'}`}>{c.result}</span>
              </td>
              <td data-label="Detail">{c.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  </div>
);
