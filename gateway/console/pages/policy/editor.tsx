import type { PolicyIssue } from '../../../../policy/index.ts';
import { ASSETS, assetUrl } from '../../assets/index.ts';
import { CsrfField } from '../../views/layout.tsx';

/** The policy page's editor (admins): the document, its problems, save and check. */

const pathLabel = (path: string) => (path === '' ? '(the document)' : path);

/** The problems of a document, each at its path; also answered alone to the editor script. */
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

/** The edit form: validated on the server when saved, and live by policy-editor.js while typing. */
export const PolicyEditor = ({
  name,
  csrf,
  draft,
  issues,
  firstRun,
}: {
  name: string;
  csrf: string;
  /** The editor's text: what was posted, the active document, or the starter. */
  draft: string;
  issues: PolicyIssue[] | undefined;
  /** No version yet: the editor holds the starter, and says what it does. */
  firstRun: boolean;
}) => (
  <section class="card" aria-labelledby="edit-h">
    <h2 id="edit-h">{firstRun ? 'Write the first version' : 'Edit'}</h2>
    {firstRun ? (
      <p id="policy-first-run">
        This policy has no version yet, so agents’ requests under it execute with no limit and no approval.
        The editor holds a starter: orders over $100.00 wait for a member with the approver role, and at most
        $500.00 a day is spent. Change it to suit you, then save.
      </p>
    ) : null}
    <p class="muted">
      Saving validates the document on the server and stores it as a new version (an identical document keeps
      the current one). Every field, operator and context is in the{' '}
      <a href="/console/help/policy" id="policy-reference-link">
        policy reference
      </a>
      .
    </p>
    <form method="post" action="/console/policy/save" class="editor">
      <CsrfField value={csrf} />
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
          <IssueList issues={issues} />
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
);

/** What a developer sees instead of the editor. */
export const ReadOnlyNote = () => (
  <p class="card muted">
    Only admins can change the policy; you can read it, compare versions and simulate. Every field is in the{' '}
    <a href="/console/help/policy">policy reference</a>.
  </p>
);
