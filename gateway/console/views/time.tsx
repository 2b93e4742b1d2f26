import type { FC } from 'hono/jsx';
import { formatTime } from '../../notify/index.ts';

/**
 * The console's one way to show a moment (issue 21): UTC throughout, to the minute
 * ("2026-11-24 12:00 UTC", as in the emails), in a `<time>` whose `datetime` and hover title carry
 * the exact instant. Accepts epoch milliseconds or an ISO 8601 string, as services answer either.
 */
export const Time: FC<{ at: number | string | null | undefined; none?: string }> = ({ at, none }) => {
  const ms = typeof at === 'string' ? Date.parse(at) : at;
  if (ms === null || ms === undefined || Number.isNaN(ms)) return <span class="muted">{none ?? 'none'}</span>;
  const iso = new Date(ms).toISOString();
  return (
    <time datetime={iso} title={iso}>
      {formatTime(ms)}
    </time>
  );
};
