import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Role } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import type { Mailer } from '../notify/mailer.ts';
import type { OtpService } from '../services/approvals/index.ts';
import type { ConsoleSession } from '../services/console/index.ts';
import type { Deps, ServiceContext } from '../services/context.ts';

/**
 * One console page (issue 14): a file under pages/ exports a `definePage({...})` and
 * pages/index.ts lists it. The framework (index.tsx) declares its routes in the OpenAPI document,
 * checks the session and the role, checks the CSRF field of every POST, and puts the page in the
 * layout with the role-aware navigation.
 */

/** What the console's pages need besides Deps, built once in gateway/app.ts. */
export interface ConsoleServices {
  otp: OtpService;
  mailer: Mailer;
  /** Keys the CSRF field of console forms (keyring.console). */
  csrfKey: Buffer;
}

export type Tone = 'ok' | 'info' | 'error';

export interface View {
  /** The <title> and the page's h1 are the page's own; this is the title. */
  title: string;
  body: Child;
  status?: ContentfulStatusCode;
  notice?: { tone: Tone; text: string };
  /** Adds the countdown script (deadlines that tick). */
  countdown?: boolean;
}

/** Everything a page handler gets: the request, the signed-in member, and how to answer. */
export interface PageContext {
  c: Context<GatewayEnv>;
  deps: Deps;
  services: ConsoleServices;
  session: ConsoleSession;
  /** The service context of the member acting (pass it to services, as the API does). */
  ctx: ServiceContext;
  /** The hidden `csrf` field every form must carry: `<CsrfField value={p.csrf} />`. */
  csrf: string;
  /** A path parameter of the page's pattern (`:id`). */
  param(name: string): string;
  /** The page in the console layout (navigation, who is signed in, sign-out). */
  render(view: View): Response | Promise<Response>;
  /** 303 to `to` (post/redirect/get after a form). */
  redirect(to: string): Response;
}

/** A form a page handles: `POST <path>`; the form fields are parsed and the CSRF field checked. */
export interface ActionSpec {
  path: string;
  summary: string;
  /** Roles allowed to post; the page's own when left out. */
  roles?: readonly Role[];
  handle(p: PageContext, form: Record<string, string>): Promise<Response>;
}

export interface PageSpec {
  /** The full pattern, under /console (`/console/approvals/:id`). */
  path: string;
  summary: string;
  /** Shown in the navigation when set (pages of one item, such as a detail, leave it out). */
  nav?: { label: string; order: number };
  /** Roles that may open the page; every member when left out. Others get a 403 page. */
  roles?: readonly Role[];
  /** Which nav item is current on this page (a detail page names its list's path). */
  section?: string;
  get(p: PageContext): Promise<Response>;
  actions?: readonly ActionSpec[];
}

export const definePage = (spec: PageSpec): PageSpec => spec;

/** A string field of a parsed form ('' when absent or a file). */
export const field = (form: Record<string, string>, name: string): string => form[name] ?? '';

const pascal = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/**
 * The operationId of a console page or form, from its pattern: a page is `console<Path>Page`, a
 * form `console<Path>`, the path's words in PascalCase with `:id` as `ById`
 * (`GET /console/approvals/:id` → `consoleApprovalsByIdPage`, `POST /console/keys/create` →
 * `consoleKeysCreate`); unique because the patterns are.
 */
export function consoleOperationId(method: 'get' | 'post', path: string): string {
  const words = path
    .replace(/^\/console\/?/, '')
    .split(/[/-]/)
    .filter(Boolean)
    .map((word) => (word.startsWith(':') ? `By${pascal(word.slice(1))}` : pascal(word)));
  const name = words.join('') || 'Overview';
  return `console${name}${method === 'get' ? 'Page' : ''}`;
}
