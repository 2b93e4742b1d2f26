import type { PolicyIssue } from '../../../../policy/index.ts';
import { GatewayError } from '../../../domain/index.ts';
import { policyName } from '../../../routes/policies/schema.ts';
import {
  checkPolicyDocument,
  DEFAULT_POLICY,
  getPolicySourceView,
  listPolicies,
  listPolicyVersions,
  putPolicy,
  simulatePolicy,
  syncPolicySource,
} from '../../../services/policy/index.ts';
import { listWorkspaceBusinesses } from '../../../services/tenancy/index.ts';
import { ASSETS, assetUrl } from '../../assets/index.ts';
import { definePage, field, type PageContext, type Tone } from '../../page.ts';
import { peopleOf } from '../../people.ts';
import { CompareVersions } from './diff.tsx';
import { ActiveDocument, PolicyTabs, pretty, VersionList, type VersionView } from './document.tsx';
import { IssueList, PolicyEditor, ReadOnlyNote } from './editor.tsx';
import { SimulatePanel, type Simulation } from './simulate.tsx';
import { GitSource, type SourceView } from './source.tsx';
import { STARTER } from './starter.ts';

/**
 * /console/policy (issue 14, item 4): the active document, its versions, a diff between any two,
 * the editor (admins; validated on the server, live with policy-editor.js) and the simulate panel.
 * Everything goes through the policy services the REST API uses (PUT, validate, simulate). A policy
 * kept in Git (issue 23) shows its link, its newest sync and a sync button. This file
 * loads and acts; each section is a named component beside it (document, editor, diff, simulate).
 */

interface PolicyState {
  name: string;
  /** The editor's text (what was posted, or the active document). */
  draft?: string;
  issues?: PolicyIssue[];
  simulation?: Simulation;
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

async function versionsOf(p: PageContext, name: string): Promise<VersionView[]> {
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

/** The policy's Git link (issue 23), or undefined when it is edited here only. */
async function sourceOf(p: PageContext, name: string): Promise<SourceView | undefined> {
  try {
    return await getPolicySourceView({ ctx: p.ctx, input: { name } });
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}

async function renderPolicy(p: PageContext, state: PolicyState): Promise<Response> {
  const { name } = state;
  const isAdmin = p.session.member.role === 'admin';
  const [policies, versions, businesses, who, source] = await Promise.all([
    listPolicies({ ctx: p.ctx }),
    versionsOf(p, name),
    listWorkspaceBusinesses({ ctx: p.ctx }),
    // Who saved a version, by email.
    peopleOf(p),
    sourceOf(p, name),
  ]);
  const active = versions[0];
  const q = (key: string) => p.c.req.query(key);
  const byNumber = (raw: string | undefined, fallback: VersionView | undefined) =>
    versions.find((v) => String(v.version) === raw) ?? fallback;
  const diffTo = byNumber(q('to'), active);
  const diffFrom = byNumber(q('from'), versions.find((v) => diffTo && v.version < diffTo.version) ?? diffTo);
  const draft = state.draft ?? (active ? pretty(active.document) : STARTER);
  const names = [...new Set([DEFAULT_POLICY, ...policies.map((x) => x.name), name])].sort();

  return p.render({
    title: `Policy ${name}`,
    status: state.status,
    notice: state.notice,
    body: (
      <>
        <h1>Policy {name}</h1>
        <script src={assetUrl(ASSETS.pending)} defer />
        <PolicyTabs names={names} current={name} />
        <ActiveDocument name={name} active={active} who={who} isAdmin={isAdmin} />
        {source ? <GitSource name={name} source={source} csrf={p.csrf} isAdmin={isAdmin} /> : null}
        {isAdmin ? (
          <PolicyEditor
            name={name}
            csrf={p.csrf}
            draft={draft}
            issues={state.issues}
            firstRun={active === undefined && state.draft === undefined}
          />
        ) : (
          <ReadOnlyNote />
        )}
        <VersionList name={name} versions={versions} active={active} who={who} />
        {versions.length > 1 && diffFrom && diffTo ? (
          <CompareVersions name={name} versions={versions} from={diffFrom} to={diffTo} />
        ) : null}
        <SimulatePanel
          name={name}
          csrf={p.csrf}
          businesses={businesses}
          simulation={state.simulation}
          hasActive={active !== undefined}
        />
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
      path: '/console/policy/sync',
      summary: 'Read the linked Git file at the head of its branch now; store it if valid',
      roles: ['admin'],
      async handle(p, form) {
        const name = nameOf(field(form, 'name'));
        try {
          const result = await syncPolicySource({ ctx: p.ctx, input: { name } });
          if (result.status === 'synced') {
            const text = `${result.created ? 'saved' : 'unchanged'}-${result.version}`;
            return p.redirect(`/console/policy?name=${name}&saved=${text}`);
          }
          return renderPolicy(p, {
            name,
            status: 422,
            notice: { tone: 'error', text: `Not stored: ${result.error}` },
          });
        } catch (error) {
          if (
            error instanceof GatewayError &&
            (error.code === 'PROVIDER_ERROR' || error.code === 'NOT_FOUND')
          ) {
            return renderPolicy(p, { name, status: 422, notice: { tone: 'error', text: error.message } });
          }
          throw error;
        }
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
        const simulation: Simulation = { businessId, agentId, request };
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
