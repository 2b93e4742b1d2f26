import { structuredPatch } from 'diff';
import { pretty, type VersionView } from './document.tsx';

/** The policy page's comparison of two versions: the form choosing them, and their diff. */

export const CompareVersions = ({
  name,
  versions,
  from,
  to,
}: {
  name: string;
  versions: VersionView[];
  from: VersionView;
  to: VersionView;
}) => (
  <section class="card" aria-labelledby="diff-h">
    <h2 id="diff-h">Compare versions</h2>
    <form method="get" action="/console/policy#diff-h" class="filters">
      <input type="hidden" name="name" value={name} />
      <div>
        <label for="diff-from">From</label>
        <select id="diff-from" name="from">
          {versions.map((v) => (
            <option value={String(v.version)} selected={v === from}>
              v{v.version}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="diff-to">To</label>
        <select id="diff-to" name="to">
          {versions.map((v) => (
            <option value={String(v.version)} selected={v === to}>
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
    <PolicyDiff from={from} to={to} />
  </section>
);

/** A unified diff of two versions' pretty JSON; each line says added/removed in text, not only colour. */
export function PolicyDiff({ from, to }: { from: VersionView; to: VersionView }) {
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
