import { Time } from '../../views/time.tsx';

/** The policy page's reading views: the tabs between policies, the active document, the versions. */

/** A stored version as the policy services answer it. */
export interface VersionView {
  version: number;
  createdAt: string;
  createdBy: string | null;
  document: unknown;
}

/** Who saved a version, as the page names them (by email: console/people.ts). */
export type Who = (memberId: string | null) => string;

export const pretty = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;

/** One tab per policy of the workspace, shown when there is more than one to choose from. */
export const PolicyTabs = ({ names, current }: { names: string[]; current: string }) =>
  names.length > 1 ? (
    <nav class="tabs" aria-label="Policies">
      {names.map((n) => (
        <a href={`/console/policy?name=${n}`} aria-current={n === current ? 'page' : undefined}>
          {n}
        </a>
      ))}
    </nav>
  ) : null;

export const ActiveDocument = ({
  name,
  active,
  who,
  isAdmin,
}: {
  name: string;
  active: VersionView | undefined;
  who: Who;
  isAdmin: boolean;
}) => (
  <section class="card" aria-labelledby="active-h">
    <h2 id="active-h">Active document</h2>
    {active ? (
      <>
        <p class="muted" id="active-version">
          Version {active.version}, saved <Time at={active.createdAt} /> by {who(active.createdBy)}.
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
);

/** Every version, newest first, each with a link to its changes from the one before. */
export const VersionList = ({
  name,
  versions,
  active,
  who,
}: {
  name: string;
  versions: VersionView[];
  active: VersionView | undefined;
  who: Who;
}) => (
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
                  <td data-label="Saved">
                    <Time at={v.createdAt} />
                  </td>
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
);
