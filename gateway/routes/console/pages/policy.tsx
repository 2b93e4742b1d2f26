import { structuredPatch } from 'diff';
import type { Decision, PolicyIssue } from '../../../../policy/index.ts';
import { GatewayError } from '../../../domain/index.ts';
import {
  checkPolicyDocument,
  DEFAULT_POLICY,
  listPolicies,
  listPolicyVersions,
  putPolicy,
  simulatePolicy,
} from '../../../services/policy/index.ts';
import { listMembers, listWorkspaceBusinesses } from '../../../services/tenancy/index.ts';
import { policyName } from '../../policies/index.ts';
import { ASSETS, assetUrl } from '../assets/index.ts';
import { CsrfField } from '../layout.tsx';
import { definePage, field, type PageContext, type Tone } from '../page.ts';

/**
 * /console/policy (issue 14, item 4): the active document, its versions, a diff between any two,
 * the editor (admins; validated on the server, live with policy-editor.js) and the simulate panel.
 * Everything goes through the policy services the REST API uses (PUT, validate, simulate).
 */

type Version = Awaited<ReturnType<typeof listPolicyVersions>>[number];

const pretty = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;

const STARTER = pretty({ spending_limits: [{ id: 'daily', amount: 10000, interval: 'day' }] });
const SAMPLE_REQUEST = pretty({ sku: 'sticker', quantity: 1, amount_cents: 500, currency: 'USD' });

interface PolicyState {
  name: string;
  /** The editor's text (what was posted, or the active document). */
  draft?: string;
  issues?: PolicyIssue[];
  simulation?: { businessId: string; agentId: string; request: string; decision?: Decision; error?: string };
  status?: 200 | 400 | 404 | 422;
  notice?: { tone: Tone; text: string };
}

/** The name of the policy the page is about: `?name=` or the form's, `default` otherwise. */
function nameOf(raw: string | undefined): string {
  if (!raw) return DEFAULT_POLICY;
  const parsed = policyName.safeParse(raw);
  if (!parsed.success) throw new GatewayError('NOT_FOUND', 'No policy with this name.');
  return parsed.data;
}

async function versionsOf(p: PageContext, name: string): Promise<Version[]> {
  try {
    return await listPolicyVersions({ ctx: p.ctx, input: { name } });
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'NOT_FOUND') return [];
    throw error;
  }
}

/** `JSON.parse` with the problem said as a validation issue of the whole document. */
function parseDocument(text: string): { ok: true; value: unknown } | { ok: false; issue: PolicyIssue } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, issue: { path: '', message: `Not JSON: ${(error as Error).message}` } };
  }
}

const pathLabel = (path: string) => (path === '' ? '(the document)' : path);

export const IssueList = ({ issues }: { issues: PolicyIssue[] | undefined }) => (
  <div id="policy-issues" aria-live="polite">
    {issues === undefined ? (
      <p class="muted" id="policy-issues-summary">
        Not checked yet.
      </p>
    ) : issues.length === 0 ? (
      <p class="good-text" id="policy-issues-summary">
        No problems: the document is valid.
      </p>
    ) : (
      <>
        <p class="bad-text" id="policy-issues-summary">
          {issues.length === 1 ? '1 problem' : `${issues.length} problems`}:
        </p>
        <ul class="issues">
          {issues.map((i) => (
            <li>
              <code class="path">{pathLabel(i.path)}</code> {i.message}
            </li>
          ))}
        </ul>
      </>
    )}
  </div>
);

/** A unified diff of two versions' pretty JSON; each line says added/removed in text, not only colour. */
export function PolicyDiff({ from, to }: { from: Version; to: Version }) {
  const patch = structuredPatch(
    `v${from.version}`,
    `v${to.version}`,
    pretty(from.document),
    pretty(to.document),
    '',
    '',
    { context: 3 },
  );
  if (patch.hunks.length === 0)
    return (
      <p>
        Versions {from.version} and {to.version} are the same document.
      </p>
    );
  return (
    <section
      class="table-wrap"
      tabindex={0}
      aria-label={`Changes from version ${from.version} to version ${to.version}`}
    >
      <table class="diff">
        <caption>
          Changes from version {from.version} to version {to.version}
        </caption>
        <thead>
          <tr>
            <th scope="col">Change</th>
            <th scope="col" class="num">
              v{from.version}
            </th>
            <th scope="col" class="num">
              v{to.version}
            </th>
            <th scope="col">Line</th>
          </tr>
        </thead>
        <tbody>
          {patch.hunks.flatMap((hunk) => {
            let oldLine = hunk.oldStart;
            let newLine = hunk.newStart;
            const rows = [
              <tr class="hunk">
                <td colspan={4}>
                  Lines {hunk.oldStart}–{hunk.oldStart + hunk.oldLines - 1} of v{from.version},{' '}
                  {hunk.newStart}–{hunk.newStart + hunk.newLines - 1} of v{to.version}
                </td>
              </tr>,
            ];
            for (const line of hunk.lines) {
              const kind = line[0] === '+' ? 'added' : line[0] === '-' ? 'removed' : 'same';
              const text = line.slice(1);
              rows.push(
                <tr class={kind}>
                  <td class="mark">{kind === 'added' ? '+ added' : kind === 'removed' ? '− removed' : ''}</td>
                  <td class="num">{kind === 'added' ? '' : oldLine++}</td>
                  <td class="num">{kind === 'removed' ? '' : newLine++}</td>
                  <td>
                    <code>{text}</code>
                  </td>
                </tr>,
              );
            }
            return rows;
          })}
        </tbody>
      </table>
    </section>
  );
}

const outcomeText: Record<string, string> = {
  auto_approve: 'Auto-approved',
  reject: 'Rejected',
  approval: 'Needs approval',
  queue: 'Queued until a time window opens',
};

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
          <dd>{decision.releaseAt}</dd>
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

async function renderPolicy(p: PageContext, state: PolicyState): Promise<Response> {
  const { name } = state;
  const isAdmin = p.session.member.role === 'admin';
  const [policies, versions, businesses, members] = await Promise.all([
    listPolicies({ ctx: p.ctx }),
    versionsOf(p, name),
    listWorkspaceBusinesses({ ctx: p.ctx }),
    listMembers({ ctx: p.ctx }),
  ]);
  // Who saved a version: the member's email while they are a member, their id after.
  const emails = new Map(members.map((m) => [m.id, m.email]));
  const who = (id: string | null) => (id === null ? 'the system' : (emails.get(id) ?? id));
  const active = versions[0];
  const q = (key: string) => p.c.req.query(key);
  const byNumber = (raw: string | undefined, fallback: Version | undefined) =>
    versions.find((v) => String(v.version) === raw) ?? fallback;
  const diffTo = byNumber(q('to'), active);
  const diffFrom = byNumber(q('from'), versions.find((v) => diffTo && v.version < diffTo.version) ?? diffTo);
  const draft = state.draft ?? (active ? pretty(active.document) : STARTER);
  const sim = state.simulation;
  const names = [...new Set([DEFAULT_POLICY, ...policies.map((x) => x.name), name])].sort();

  return p.render({
    title: `Policy ${name}`,
    status: state.status,
    notice: state.notice,
    body: (
      <>
        <h1>Policy {name}</h1>
        <script src={assetUrl(ASSETS.pending)} defer />
        {names.length > 1 ? (
          <nav class="tabs" aria-label="Policies">
            {names.map((n) => (
              <a href={`/console/policy?name=${n}`} aria-current={n === name ? 'page' : undefined}>
                {n}
              </a>
            ))}
          </nav>
        ) : null}

        <section class="card" aria-labelledby="active-h">
          <h2 id="active-h">Active document</h2>
          {active ? (
            <>
              <p class="muted" id="active-version">
                Version {active.version}, saved {active.createdAt} by {who(active.createdBy)}.
              </p>
              <section class="scroll" tabindex={0} aria-label={`Policy ${name}, version ${active.version}`}>
                <pre>
                  <code>{pretty(active.document)}</code>
                </pre>
              </section>
            </>
          ) : (
            <p id="active-version">
              No version of policy {name} yet: {isAdmin ? 'save one below' : 'an admin can save one'}.
            </p>
          )}
        </section>

        {isAdmin ? (
          <section class="card" aria-labelledby="edit-h">
            <h2 id="edit-h">Edit</h2>
            <p class="muted">
              Saving validates the document on the server and stores it as a new version (an identical
              document keeps the current one). The document format is described in docs/policies.md.
            </p>
            <form method="post" action="/console/policy/save" class="editor">
              <CsrfField value={p.csrf} />
              <input type="hidden" name="name" value={name} />
              <div class="grid2">
                <div>
                  <label for="policy-document">Policy document (JSON)</label>
                  <textarea
                    id="policy-document"
                    name="document"
                    rows={22}
                    spellcheck={false}
                    aria-describedby="policy-issues"
                    data-validate-url="/console/policy/validate"
                  >
                    {draft}
                  </textarea>
                </div>
                <div>
                  <h3 id="issues-h">Problems</h3>
                  <IssueList issues={state.issues} />
                </div>
              </div>
              <div class="actions">
                <button type="submit">Save as a new version</button>
                <button type="submit" class="secondary" formaction="/console/policy/validate">
                  Check without saving
                </button>
              </div>
            </form>
            <script src={assetUrl(ASSETS.policyEditor)} defer />
          </section>
        ) : (
          <p class="card muted">
            Only admins can change the policy; you can read it, compare versions and simulate.
          </p>
        )}

        <section class="card" aria-labelledby="versions-h">
          <h2 id="versions-h">Versions</h2>
          {versions.length === 0 ? (
            <p>None yet.</p>
          ) : (
            <div class="table-wrap">
              <table class="stack" id="versions">
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Saved</th>
                    <th scope="col">By</th>
                    <th scope="col">Compare</th>
                  </tr>
                </thead>
                <tbody>
                  {versions.map((v, i) => {
                    const previous = versions[i + 1];
                    return (
                      <tr>
                        <td data-label="Version">
                          v{v.version}
                          {v === active ? ' (active)' : ''}
                        </td>
                        <td data-label="Saved">{v.createdAt}</td>
                        <td data-label="By">{who(v.createdBy)}</td>
                        <td data-label="Compare">
                          {previous ? (
                            <a
                              href={`/console/policy?name=${name}&from=${previous.version}&to=${v.version}#diff-h`}
                            >
                              Changes from v{previous.version}
                            </a>
                          ) : (
                            'first version'
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </section>

        {versions.length > 1 && diffFrom && diffTo ? (
          <section class="card" aria-labelledby="diff-h">
            <h2 id="diff-h">Compare versions</h2>
            <form method="get" action="/console/policy#diff-h" class="filters">
              <input type="hidden" name="name" value={name} />
              <div>
                <label for="diff-from">From</label>
                <select id="diff-from" name="from">
                  {versions.map((v) => (
                    <option value={String(v.version)} selected={v === diffFrom}>
                      v{v.version}
                    </option>
                  ))}
                </select>
              </div>
              <div>
                <label for="diff-to">To</label>
                <select id="diff-to" name="to">
                  {versions.map((v) => (
                    <option value={String(v.version)} selected={v === diffTo}>
                      v{v.version}
                    </option>
                  ))}
                </select>
              </div>
              <div class="actions">
                <button type="submit" class="secondary">
                  Compare
                </button>
              </div>
            </form>
            <PolicyDiff from={diffFrom} to={diffTo} />
          </section>
        ) : null}

        <section class="card" aria-labelledby="simulate-h">
          <h2 id="simulate-h">Simulate</h2>
          <p class="muted">
            What the active version would decide for a request now, with the workspace's live spend. Nothing
            is recorded or reserved.
          </p>
          <form method="post" action="/console/policy/simulate">
            <CsrfField value={p.csrf} />
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
              <button type="submit" disabled={businesses.length === 0 || !active}>
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
      </>
    ),
  });
}

const READERS = ['admin', 'developer'] as const;

export default definePage({
  path: '/console/policy',
  summary: 'The policy: active document, versions, diff, editor (admins) and simulation',
  nav: { label: 'Policy', order: 30 },
  roles: READERS,
  async get(p) {
    const saved = /^(saved|unchanged)-(\d+)$/.exec(p.c.req.query('saved') ?? '');
    const notice = saved
      ? {
          tone: 'ok' as const,
          text:
            saved[1] === 'saved'
              ? `Saved as version ${saved[2]}.`
              : `Nothing changed: the document is version ${saved[2]} already.`,
        }
      : undefined;
    return renderPolicy(p, { name: nameOf(p.c.req.query('name')), notice });
  },
  actions: [
    {
      path: '/console/policy/save',
      summary: 'Save the edited document as a new version (validated; 422 with each problem at its path)',
      roles: ['admin'],
      async handle(p, form) {
        const name = nameOf(field(form, 'name'));
        const draft = field(form, 'document');
        const parsed = parseDocument(draft);
        if (!parsed.ok) {
          return renderPolicy(p, {
            name,
            draft,
            issues: [parsed.issue],
            status: 422,
            notice: { tone: 'error', text: 'Not saved: the document is not JSON.' },
          });
        }
        try {
          const saved = await putPolicy({ ctx: p.ctx, input: { name, document: parsed.value } });
          const text = `${saved.created ? 'saved' : 'unchanged'}-${saved.version}`;
          return p.redirect(`/console/policy?name=${name}&saved=${text}`);
        } catch (error) {
          if (
            error instanceof GatewayError &&
            error.code === 'VALIDATION_ERROR' &&
            Array.isArray(error.details)
          ) {
            const issues = error.details as PolicyIssue[];
            return renderPolicy(p, {
              name,
              draft,
              issues,
              status: 422,
              notice: {
                tone: 'error',
                text: `Not saved: ${issues.length === 1 ? '1 problem' : `${issues.length} problems`} in the document.`,
              },
            });
          }
          throw error;
        }
      },
    },
    {
      path: '/console/policy/validate',
      summary:
        'Check a document without saving (the problem list alone for the editor script, with X-Console-Fragment: policy-issues)',
      roles: READERS,
      async handle(p, form) {
        const name = nameOf(field(form, 'name'));
        const draft = field(form, 'document');
        const parsed = parseDocument(draft);
        const result = parsed.ok
          ? checkPolicyDocument({ ctx: p.ctx, input: { document: parsed.value } })
          : { valid: false, issues: [parsed.issue] };
        // The editor script asks for the problem list alone (an HTML fragment, as documented).
        if (p.c.req.header('x-console-fragment') === 'policy-issues') {
          return p.c.html(<IssueList issues={result.issues} />);
        }
        return renderPolicy(p, {
          name,
          draft,
          issues: result.issues,
          notice: result.valid
            ? { tone: 'ok', text: 'The document is valid (not saved).' }
            : { tone: 'error', text: 'The document has problems (not saved).' },
        });
      },
    },
    {
      path: '/console/policy/simulate',
      summary: 'What the active version would decide for a request (nothing recorded)',
      roles: READERS,
      async handle(p, form) {
        const name = nameOf(field(form, 'name'));
        const businessId = field(form, 'businessId');
        const agentId = field(form, 'agentId').trim();
        const request = field(form, 'request');
        const simulation: NonNullable<PolicyState['simulation']> = { businessId, agentId, request };
        let value: unknown;
        try {
          value = JSON.parse(request);
        } catch (error) {
          simulation.error = `The request is not JSON: ${(error as Error).message}`;
        }
        if (!simulation.error && (typeof value !== 'object' || value === null || Array.isArray(value))) {
          simulation.error = 'The request must be a JSON object.';
        }
        if (simulation.error) return renderPolicy(p, { name, simulation, status: 422 });
        try {
          simulation.decision = await simulatePolicy({
            ctx: p.ctx,
            input: {
              name,
              businessId,
              request: value as Record<string, unknown>,
              ...(agentId ? { agentId: agentId.slice(0, 128) } : {}),
            },
          });
          return renderPolicy(p, { name, simulation });
        } catch (error) {
          if (error instanceof GatewayError && error.status < 500) {
            simulation.error = error.message;
            return renderPolicy(p, { name, simulation, status: 422 });
          }
          throw error;
        }
      },
    },
  ],
});
