import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GatewayError } from '../domain/index.ts';
import type { GatewayEnv } from '../env.ts';
import { type Answer, route } from '../routes/openapi/route.ts';
import { pathParam, withFields } from '../routes/validate.ts';
import {
  type ConsoleSession,
  checkConsoleCsrf,
  consoleContext,
  consoleCsrf,
  resumeSession,
  signOut,
  signOutEverywhere,
} from '../services/console/index.ts';
import type { Deps } from '../services/context.ts';
import { ASSET_TYPES, assetByFile } from './assets/index.ts';
import {
  type ConsoleServices,
  consoleOperationId,
  type PageContext,
  type PageSpec,
  type View,
} from './page.ts';
import { PAGES } from './pages/index.ts';
import { CSP, clearSessionCookie, formOf, sameOrigin, sessionToken } from './security.ts';
import { registerSignIn } from './sign-in.tsx';
import { ConsoleLayout, MessageBody, type NavItem, PublicLayout } from './views/layout.tsx';

export type { ConsoleServices } from './page.ts';

const tag = 'Console';
const page = (description: string): Answer => ({ description, html: true });

/** What any console page can answer: itself, the way to sign in, or a readable refusal. */
const PAGE_ANSWERS: Record<number, Answer> = {
  200: page('The page'),
  303: { description: 'No live session: on to /console/sign-in (or, after a form, back to a page)' },
  400: page('The page again: the form is not complete (or text that cannot be stored)'),
  403: page('Not for this role, or a form without its CSRF field (an old page, another site)'),
  404: page('Nothing with this id in the workspace'),
  409: page('Not done: it moved on meanwhile'),
  410: page('Gone'),
  422: page('Not done: the form is not valid'),
  429: page('Too many tries (Retry-After)'),
  500: page('Something went wrong'),
  502: page('The business failed'),
  503: page('Not available now (the database, or email, could not be reached; Retry-After)'),
  504: page('The business did not answer in time'),
};
const ANSWERED = new Set(Object.keys(PAGE_ANSWERS).map(Number));

/** Every console answer's headers (and `Cache-Control: no-store` unless the answer set its own). */
const CONSOLE_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // Sign-in links carry their token in the path: never sent to another site.
  'Referrer-Policy': 'same-origin',
};

/**
 * A request refused before any console route ran (middleware/storable-text): a readable page, as every
 * console refusal is, naming the fields, with the console's headers (its middleware did not run).
 */
export function consoleRefusalPage(
  c: Context<GatewayEnv>,
  refusal: GatewayError,
): Response | Promise<Response> {
  const title = 'Not done';
  return c.html(
    <PublicLayout title={title}>
      <MessageBody title={title} message={withFields(refusal)} />
    </PublicLayout>,
    refusal.status as ContentfulStatusCode,
    { ...CONSOLE_HEADERS, 'Cache-Control': 'no-store' },
  );
}

/**
 * The web console (DESIGN §5 `/console`, issue 14): server-rendered pages over the same services as
 * the API, signed in with a member token or an emailed link, held by a session cookie. Each page
 * is one file under pages/; pages/index.ts lists them; this file gives them sessions, roles, CSRF,
 * the layout and their place in the OpenAPI document.
 */
export function registerConsole(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const services: ConsoleServices = { otp: deps.otp, mailer: deps.mailer, csrfKey: deps.keyring.console };
  const headers = async function consoleHeaders(c: Context<GatewayEnv>, next: () => Promise<void>) {
    await next();
    for (const [name, value] of Object.entries(CONSOLE_HEADERS)) {
      // A page may widen its own CSP (the OAuth consent page posts on to the client's redirect URI).
      if (name === 'Content-Security-Policy' && c.res.headers.has(name)) continue;
      c.header(name, value);
    }
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  };
  app.use('/console', headers);
  app.use('/console/*', headers);

  route(
    app,
    {
      method: 'get',
      path: '/console/assets/:file',
      operationId: 'consoleAsset',
      tag,
      summary: 'A static file of the console, by its fingerprinted name (cached for a year)',
      access: { principal: 'public' },
      responses: {
        200: { description: 'The file', files: ASSET_TYPES },
        400: page('Text that cannot be stored (a NUL character) in the path or the query'),
        404: page('No such file'),
      },
    },
    (c) => {
      const asset = assetByFile(pathParam(c, 'file'));
      if (!asset) return c.html(<MessageBody title="Not found" message="No such file." />, 404);
      // The name changes with the content: the address can be cached for ever.
      c.header('Cache-Control', 'public, max-age=31536000, immutable');
      return c.body(asset.body, 200, { 'Content-Type': asset.type });
    },
  );

  registerSignIn(app, deps, services);

  const message = (c: Context<GatewayEnv>, status: ContentfulStatusCode, title: string, text: string) =>
    c.html(
      <PublicLayout title={title}>
        <MessageBody title={title} message={text} />
      </PublicLayout>,
      status,
    );

  const toSignIn = (c: Context<GatewayEnv>, hadCookie: boolean) => {
    if (hadCookie) clearSessionCookie(deps, c);
    const next = c.req.method === 'GET' ? c.req.path + (new URL(c.req.url).search || '') : '/console';
    const params = new URLSearchParams({ next });
    if (hadCookie) params.set('notice', 'expired');
    return c.redirect(`/console/sign-in?${params}`, 303);
  };

  /** The live session of the request, or the answer that sends the browser to sign in. */
  const session = async (
    c: Context<GatewayEnv>,
  ): Promise<{ session: ConsoleSession; token: string } | Response> => {
    const token = sessionToken(c);
    const found = token ? await resumeSession({ deps, token }) : undefined;
    if (!found || !token) return toSignIn(c, token !== undefined);
    const log = c.get('log');
    log.workspace = found.member.workspaceId;
    log.member = found.member.memberId;
    return { session: found, token };
  };

  const visible = (s: ConsoleSession): NavItem[] =>
    PAGES.filter((p) => p.nav && (!p.roles || p.roles.includes(s.member.role)))
      .sort((a, b) => (a.nav?.order ?? 0) - (b.nav?.order ?? 0))
      .map((p) => ({ href: p.path, label: p.nav?.label ?? p.path }));

  const pageContext = (
    c: Context<GatewayEnv>,
    spec: PageSpec,
    s: ConsoleSession,
    token: string,
  ): PageContext => {
    const csrf = consoleCsrf(services.csrfKey, token);
    return {
      c,
      deps,
      services,
      session: s,
      ctx: consoleContext(deps, s, c.get('requestId')),
      csrf,
      param: (name) => pathParam(c, name),
      render: (view: View) =>
        c.html(
          <ConsoleLayout
            title={view.title}
            signed={{
              email: s.member.email,
              role: s.member.role,
              workspaceName: s.workspaceName,
              csrf,
            }}
            nav={visible(s)}
            current={spec.section ?? spec.path}
            notice={view.notice}
            countdown={view.countdown}
          >
            {view.body}
          </ConsoleLayout>,
          view.status ?? 200,
        ),
      redirect: (to) => c.redirect(to, 303),
    };
  };

  /** A page or action that failed: a readable page in the layout, never a stack trace. */
  const failed = (c: Context<GatewayEnv>, p: PageContext, error: unknown) => {
    if (error instanceof GatewayError) {
      for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
      const status = ANSWERED.has(error.status) ? error.status : 500;
      const title = status === 404 ? 'Not found' : 'Not done';
      return p.render({
        title,
        status: status as ContentfulStatusCode,
        body: <MessageBody title={title} message={error.message} />,
      });
    }
    deps.logger.error({ err: error, requestId: c.get('requestId') }, 'console page failed');
    return p.render({
      title: 'Something went wrong',
      status: 500,
      body: (
        <MessageBody title="Something went wrong" message="Something went wrong on our side. Try again." />
      ),
    });
  };

  const forbidden = (p: PageContext, roles: readonly string[]) =>
    p.render({
      title: 'Not for your role',
      status: 403,
      body: (
        <MessageBody
          title="Not for your role"
          message={`This needs the ${roles.join(' or ')} role; you are signed in as ${p.session.member.role}.`}
        />
      ),
    });

  for (const spec of PAGES) {
    route(
      app,
      {
        method: 'get',
        path: spec.path,
        operationId: consoleOperationId('get', spec.path),
        tag,
        summary: spec.summary,
        access: { principal: 'console', ...(spec.roles ? { roles: spec.roles } : {}) },
        responses: PAGE_ANSWERS,
      },
      async (c) => {
        const found = await session(c);
        if (found instanceof Response) return found;
        const p = pageContext(c, spec, found.session, found.token);
        if (spec.roles && !spec.roles.includes(found.session.member.role)) return forbidden(p, spec.roles);
        try {
          return await spec.get(p);
        } catch (error) {
          return failed(c, p, error);
        }
      },
    );
    for (const action of spec.actions ?? []) {
      const roles = action.roles ?? spec.roles;
      route(
        app,
        {
          method: 'post',
          path: action.path,
          operationId: consoleOperationId('post', action.path),
          tag,
          summary: `${action.summary} (form post with the csrf field)`,
          access: { principal: 'console', ...(roles ? { roles } : {}) },
          responses: PAGE_ANSWERS,
        },
        async (c) => {
          const found = await session(c);
          if (found instanceof Response) return found;
          const p = pageContext(c, spec, found.session, found.token);
          const form = await formOf(c);
          if (
            !sameOrigin(c, deps.config.publicBaseUrl) ||
            !checkConsoleCsrf(services.csrfKey, found.token, form.csrf ?? '')
          ) {
            return refused(p);
          }
          if (roles && !roles.includes(found.session.member.role)) return forbidden(p, roles);
          try {
            return await action.handle(p, form);
          } catch (error) {
            return failed(c, p, error);
          }
        },
      );
    }
  }

  const refused = (p: PageContext) =>
    p.render({
      title: 'This form has expired',
      status: 403,
      body: (
        <MessageBody
          title="This form has expired"
          message="The form did not come from your current console session (it was open before you signed in again, or it came from another site). Nothing was done. Go back, reload the page and try again."
        />
      ),
    });

  /** Sign-out forms: the session's CSRF field, like every other console form. */
  const signOutRoute = (path: string, summary: string, everywhere: boolean) =>
    route(
      app,
      {
        method: 'post',
        path,
        operationId: consoleOperationId('post', path),
        tag,
        summary: `${summary} (form post with the csrf field)`,
        access: { principal: 'console' },
        responses: {
          303: { description: 'Signed out (or no session): on to the sign-in page' },
          400: page('Text that cannot be stored (a NUL character) in the path, the query or the form'),
          403: page('The form did not carry this session’s CSRF field'),
          500: page('Something went wrong'),
        },
      },
      async (c) => {
        const found = await session(c);
        if (found instanceof Response) return found;
        const form = await formOf(c);
        if (
          !sameOrigin(c, deps.config.publicBaseUrl) ||
          !checkConsoleCsrf(services.csrfKey, found.token, form.csrf ?? '')
        ) {
          return message(
            c,
            403,
            'This form has expired',
            'The form did not come from your current console session. Nothing was done.',
          );
        }
        if (everywhere) await signOutEverywhere({ deps, session: found.session });
        else await signOut({ deps, token: found.token, session: found.session });
        clearSessionCookie(deps, c);
        return c.redirect(
          `/console/sign-in?notice=${everywhere ? 'signed-out-everywhere' : 'signed-out'}`,
          303,
        );
      },
    );
  signOutRoute('/console/sign-out', 'Sign out of this browser', false);
  signOutRoute('/console/sign-out-everywhere', 'Sign out of every console session of this member', true);

  app.all('/console/*', (c) =>
    new URL(c.req.url).pathname === '/console/'
      ? c.redirect('/console', 301)
      : message(c, 404, 'Page not found', 'There is no console page at this address.'),
  );
}
