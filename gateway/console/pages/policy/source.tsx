import { CsrfField } from '../../views/layout.tsx';
import { Time } from '../../views/time.tsx';

/** The policy's Git link as the policy services answer it (issue 23, policy as code). */
export interface SourceView {
  provider: 'github' | 'gitlab';
  repository: string;
  path: string;
  branch: string;
  webhookUrl: string;
  lastCommit: string | null;
  lastStatus: 'synced' | 'invalid' | 'error' | null;
  lastError: string | null;
  lastSyncedAt: string | null;
}

const STATUS_TEXT = {
  synced: 'stored',
  invalid: 'not stored: the file is not a valid policy (nothing changed)',
  error: 'not read: the provider failed (retried)',
} as const;
const TONE = { synced: 'good', invalid: 'bad', error: 'wait' } as const;

/**
 * Where the policy comes from when it is kept in Git: the repository file and branch, the webhook
 * URL to give the provider, the newest sync and why it failed, and (admins) a sync button.
 */
export const GitSource = ({
  name,
  source,
  csrf,
  isAdmin,
}: {
  name: string;
  source: SourceView;
  csrf: string;
  isAdmin: boolean;
}) => (
  <section class="card" aria-labelledby="source-h" id="git-source">
    <h2 id="source-h">Kept in Git</h2>
    <dl class="facts">
      <dt>Repository</dt>
      <dd>
        {source.provider === 'github' ? 'GitHub' : 'GitLab'} <code>{source.repository}</code>
      </dd>
      <dt>File</dt>
      <dd>
        <code>{source.path}</code> on <code>{source.branch}</code>
      </dd>
      <dt>Push webhook</dt>
      <dd>
        <code>{source.webhookUrl}</code>
      </dd>
      <dt>Newest sync</dt>
      <dd>
        {source.lastStatus ? (
          <>
            <span class={`badge ${TONE[source.lastStatus]}`}>{STATUS_TEXT[source.lastStatus]}</span>{' '}
            <Time at={source.lastSyncedAt} />
          </>
        ) : (
          'none yet'
        )}
      </dd>
      <dt>Stored commit</dt>
      <dd>{source.lastCommit ? <code>{source.lastCommit}</code> : 'none yet'}</dd>
    </dl>
    {source.lastError ? (
      <p class="notice error" role="status">
        {source.lastError}
      </p>
    ) : null}
    {isAdmin ? (
      <form method="post" action="/console/policy/sync" class="actions">
        <CsrfField value={csrf} />
        <input type="hidden" name="name" value={name} />
        <button type="submit" class="secondary">
          Sync from {source.branch} now
        </button>
      </form>
    ) : null}
  </section>
);
