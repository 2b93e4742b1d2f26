import { raw } from 'hono/html';
import type { Child, FC, PropsWithChildren } from 'hono/jsx';
import type { Role } from '../../domain/index.ts';
import { ASSETS, assetUrl } from '../assets/index.ts';
import type { Tone } from '../page.ts';

/**
 * The console's layout (issue 14): plain server-rendered HTML, no inline script or style (the CSP
 * allows only 'self'), a skip link, labelled controls, and forms that work without JavaScript.
 */

export interface NavItem {
  href: string;
  label: string;
}

export interface Signed {
  email: string;
  role: Role;
  workspaceName: string;
  csrf: string;
}

const Document: FC<PropsWithChildren<{ title: string; countdown?: boolean; refresh?: string }>> = ({
  title,
  countdown,
  refresh,
  children,
}) => (
  <>
    {raw('<!DOCTYPE html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{title} · Warden console</title>
        <link rel="stylesheet" href={assetUrl(ASSETS.css)} />
        {countdown ? <script src={assetUrl(ASSETS.countdown)} defer /> : null}
        {refresh ? <meta http-equiv="refresh" content={`0;url=${refresh}`} /> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        {children}
      </body>
    </html>
  </>
);

export const CsrfField: FC<{ value: string }> = ({ value }) => (
  <input type="hidden" name="csrf" value={value} />
);

export const Notice: FC<{ tone: Tone; text: string }> = ({ tone, text }) => (
  <div class={`notice ${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
    {text}
  </div>
);

/**
 * A page of the signed-in console: who is signed in, sign-out, the navigation for this role. On a
 * phone the header is one line (the account's menu folds into a `<details>`) and the navigation
 * another, scrolled sideways when it does not fit: two lines in all (issue 21).
 */
export const ConsoleLayout: FC<
  PropsWithChildren<{
    title: string;
    signed: Signed;
    nav: NavItem[];
    current: string;
    notice?: { tone: Tone; text: string };
    countdown?: boolean;
  }>
> = ({ title, signed, nav, current, notice, countdown, children }) => (
  <Document title={title} countdown={countdown}>
    <header class="top">
      <div class="top-inner">
        <a class="brand" href="/console">
          Warden · {signed.workspaceName}
        </a>
        <details class="account">
          <summary>
            <span class="visually-hidden">Signed in as </span>
            <span id="signed-in">
              {signed.email} ({signed.role})
            </span>
          </summary>
          <div class="account-menu">
            <form method="post" action="/console/sign-out">
              <CsrfField value={signed.csrf} />
              <button type="submit">Sign out</button>
            </form>
            <form method="post" action="/console/sign-out-everywhere">
              <CsrfField value={signed.csrf} />
              <button type="submit">Sign out everywhere</button>
            </form>
          </div>
        </details>
      </div>
    </header>
    <nav class="main" aria-label="Console">
      <ul>
        {nav.map((item) => (
          <li>
            <a href={item.href} aria-current={item.href === current ? 'page' : undefined}>
              {item.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
    <main id="main" tabindex={-1}>
      {notice ? <Notice tone={notice.tone} text={notice.text} /> : null}
      {children}
    </main>
  </Document>
);

/** Pages before sign-in, and refusals without a session. */
/** `refresh`: an address the page moves on to at once (a meta refresh, which the CSP allows). */
export const PublicLayout: FC<PropsWithChildren<{ title: string; refresh?: string }>> = ({
  title,
  refresh,
  children,
}) => (
  <Document title={title} refresh={refresh}>
    <header class="top">
      <div class="top-inner">
        <a class="brand" href="/console/sign-in">
          Warden console
        </a>
      </div>
    </header>
    <main id="main" class="narrow" tabindex={-1}>
      {children}
    </main>
  </Document>
);

export const MessageBody: FC<{ title: string; message: string; extra?: Child }> = ({
  title,
  message,
  extra,
}) => (
  <section class="card">
    <h1 id="outcome">{title}</h1>
    <p>{message}</p>
    {extra ?? null}
  </section>
);

/** "42 min left", server-side; the countdown script keeps it current. */
export function remaining(ms: number): string {
  if (ms <= 0) return 'deadline passed';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h left`;
  if (h > 0) return `${h} h ${m} min left`;
  if (m > 0) return `${m} min ${s % 60} s left`;
  return `${s % 60} s left`;
}

/** A deadline: the time itself, and the time left (updated by countdown.js). */
export const Deadline: FC<{ at: number | null; now: number }> = ({ at, now }) =>
  at === null ? (
    <span class="muted">none</span>
  ) : (
    <time datetime={new Date(at).toISOString()} title={new Date(at).toISOString()}>
      <span data-deadline={String(at)}>{remaining(at - now)}</span>
    </time>
  );

const TONE: Record<string, string> = {
  succeeded: 'good',
  approved: 'good',
  auto_approved: 'good',
  failed: 'bad',
  rejected: 'bad',
  expired: 'bad',
  unknown: 'bad',
  pending: 'wait',
  pending_approval: 'wait',
  pending_confirmation: 'wait',
  queued: 'wait',
};

export const Badge: FC<{ status: string }> = ({ status }) => (
  <span class={`badge ${TONE[status] ?? 'plain'}`}>{status.replace(/_/g, ' ')}</span>
);
