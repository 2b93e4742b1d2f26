import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { GatewayEnv } from '../env.ts';
import { type Answer, route } from '../routes/openapi/route.ts';
import { pathParam } from '../routes/validate.ts';
import {
  checkConsoleCsrf,
  consoleCsrf,
  peekSignInLink,
  requestSignInLinks,
  SSO_REQUIRED,
  SsoRequiredError,
  signInWithLink,
  signInWithToken,
} from '../services/console/index.ts';
import type { Deps } from '../services/context.ts';
import { finishSsoSignIn, type SsoFailure, SsoSignInError, startSsoSignIn } from '../services/sso/index.ts';
import type { ConsoleServices } from './page.ts';
import {
  clearPreSession,
  formOf,
  preSession,
  presentedPreSession,
  safeNext,
  sameOrigin,
  setSessionCookie,
} from './security.ts';
import { CsrfField, MessageBody, Notice, PublicLayout } from './views/layout.tsx';

const page = (description: string): Answer => ({ description, html: true });
/** middleware/storable-text answers for every console route, these too. */
const UNSTORABLE = page('Text that cannot be stored (a NUL character) in the path, the query or the form');
const tag = 'Console';

const NOTICES: Record<string, string> = {
  'signed-out': 'You are signed out.',
  'signed-out-everywhere': 'You are signed out on every device.',
  expired: 'Your session has ended. Sign in again.',
};

/** What each refused single sign-on answers (issue 22): a readable page, never a 500. */
const SSO_STATUS: Record<SsoFailure, ContentfulStatusCode> = {
  no_provider: 404,
  idp_unreachable: 502,
  bad_state: 400,
  idp_error: 401,
  idp_refused: 401,
  unverifiable: 401,
  no_email: 403,
  domain_not_allowed: 403,
  not_member: 403,
  no_role: 403,
};

const SignInPage = ({
  next,
  csrf,
  notice,
  error,
  email,
}: {
  next: string;
  csrf: string;
  notice?: string;
  error?: string;
  email?: string;
}) => (
  <PublicLayout title="Sign in">
    <h1>Sign in to the Warden console</h1>
    {notice ? <Notice tone="info" text={notice} /> : null}
    {error ? <Notice tone="error" text={error} /> : null}
    <section class="card">
      <h2>With your company’s single sign-on</h2>
      <form method="post" action="/console/sign-in/sso">
        <CsrfField value={csrf} />
        <input type="hidden" name="next" value={next} />
        <label for="sso-email">Work email</label>
        <input type="email" id="sso-email" name="email" autocomplete="email" required value={email ?? ''} />
        <div class="actions">
          <button type="submit">Continue with single sign-on</button>
        </div>
      </form>
    </section>
    <section class="card">
      <h2>With an email link</h2>
      <form method="post" action="/console/sign-in/email">
        <CsrfField value={csrf} />
        <input type="hidden" name="next" value={next} />
        <label for="email">Work email</label>
        <input type="email" id="email" name="email" autocomplete="email" required />
        <div class="actions">
          <button type="submit">Email me a sign-in link</button>
        </div>
      </form>
    </section>
    <section class="card">
      <h2>With your member token</h2>
      <form method="post" action="/console/sign-in/token">
        <CsrfField value={csrf} />
        <input type="hidden" name="next" value={next} />
        <label for="token">Member token</label>
        <input type="password" id="token" name="token" autocomplete="off" required spellcheck={false} />
        <div class="actions">
          <button type="submit">Sign in</button>
        </div>
      </form>
      <p class="muted">The token starts with wm_; it was shown once when you joined the workspace.</p>
    </section>
  </PublicLayout>
);

/**
 * Sign-in (issue 14): a member token in a form, or a link emailed to a member's address (one per
 * workspace the address belongs to, 15 minutes, once). The answer to an email is the same whether
 * or not the address is a member's, and it does not wait for the email.
 */
export function registerSignIn(app: OpenAPIHono<GatewayEnv>, deps: Deps, services: ConsoleServices): void {
  const message = (c: Context<GatewayEnv>, status: ContentfulStatusCode, title: string, text: string) =>
    c.html(
      <PublicLayout title={title}>
        <MessageBody
          title={title}
          message={text}
          extra={
            <p>
              <a href="/console/sign-in">Back to sign in</a>
            </p>
          }
        />
      </PublicLayout>,
      status,
    );
  /** The CSRF field of the sign-in forms: an HMAC of the browser's pre-session cookie. */
  const preCsrf = (c: Context<GatewayEnv>) => consoleCsrf(services.csrfKey, `pre:${preSession(deps, c)}`);
  /** Same origin, and the field matches the pre-session cookie; the parsed form, or the refusal. */
  const guard = async (c: Context<GatewayEnv>): Promise<Record<string, string> | Response> => {
    if (!sameOrigin(c, deps.config.publicBaseUrl)) {
      return message(c, 403, 'Request refused', 'This form was not sent from the console.');
    }
    const form = await formOf(c);
    const pre = presentedPreSession(c);
    if (!pre || !checkConsoleCsrf(services.csrfKey, `pre:${pre}`, form.csrf ?? '')) {
      return message(
        c,
        403,
        'This form has expired',
        'The sign-in form did not come from this browser’s sign-in page (or cookies are off). Open the sign-in page and try again.',
      );
    }
    return form;
  };

  route(
    app,
    {
      method: 'get',
      path: '/console/sign-in',
      operationId: 'consoleSignInPage',
      tag,
      summary: 'The sign-in page: an email link or a member token',
      access: { principal: 'public' },
      responses: { 200: page('The page'), 400: UNSTORABLE, 500: page('Something went wrong') },
    },
    (c) => {
      const noticeCode = c.req.query('notice');
      return c.html(
        <SignInPage
          next={safeNext(c.req.query('next'))}
          csrf={preCsrf(c)}
          notice={noticeCode ? NOTICES[noticeCode] : undefined}
        />,
      );
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/console/sign-in/token',
      operationId: 'consoleSignInWithToken',
      tag,
      summary: 'Sign in with a member token (form post: token, next)',
      access: { principal: 'public' },
      responses: {
        303: { description: 'Signed in: the session cookie is set; on to the console' },
        401: page('The page again: the token is not a member token of a live workspace'),
        403: page(
          'Not sent from the console’s sign-in page (origin or CSRF field), or the workspace requires single sign-on',
        ),
        400: UNSTORABLE,
        500: page('Something went wrong'),
      },
    },
    async (c) => {
      const form = await guard(c);
      if (form instanceof Response) return form;
      const next = safeNext(form.next);
      let signed: { token: string } | undefined;
      try {
        signed = await signInWithToken({ deps, memberToken: (form.token ?? '').trim() });
      } catch (error) {
        if (!(error instanceof SsoRequiredError)) throw error;
        return c.html(
          <SignInPage
            next={next}
            csrf={preCsrf(c)}
            error="Your workspace signs in to the console with single sign-on only: continue with your work email. Your member token still works for the API."
          />,
          403,
        );
      }
      if (!signed) {
        return c.html(
          <SignInPage
            next={next}
            csrf={preCsrf(c)}
            error="That token is not valid. Check it, or ask for a sign-in link."
          />,
          401,
        );
      }
      clearPreSession(deps, c);
      setSessionCookie(deps, c, signed.token);
      return c.redirect(next, 303);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/console/sign-in/email',
      operationId: 'consoleSignInWithEmail',
      tag,
      summary: 'Email a sign-in link to a member address (form post: email); the same answer for any address',
      access: { principal: 'public' },
      responses: {
        200: page('Check your email'),
        403: page('Not sent from the console’s sign-in page (origin or CSRF field)'),
        400: UNSTORABLE,
        500: page('Something went wrong'),
      },
    },
    async (c) => {
      const form = await guard(c);
      if (form instanceof Response) return form;
      const email = (form.email ?? '').trim().slice(0, 320);
      // Not awaited: the time to answer says nothing about whether the address is a member's.
      requestSignInLinks({ deps, email }).catch((err: unknown) =>
        deps.logger.warn({ err }, 'console sign-in email could not be sent'),
      );
      return message(
        c,
        200,
        'Check your email',
        'If that address belongs to a member of a workspace, a sign-in link is on its way. Each link works once, for 15 minutes.',
      );
    },
  );

  const DEAD = {
    unknown: [
      404,
      'This sign-in link is not valid',
      'Check that you copied the whole link, or ask for a new one.',
    ],
    used: [
      410,
      'This sign-in link has been used',
      'Each link works once. Ask for a new one to sign in again.',
    ],
    expired: [410, 'This sign-in link has expired', 'Links work for 15 minutes. Ask for a new one.'],
    [SSO_REQUIRED]: [
      403,
      'Your workspace requires single sign-on',
      'Sign in with your work email on the sign-in page: the console takes single sign-on only.',
    ],
  } as const;

  route(
    app,
    {
      method: 'get',
      path: '/console/sign-in/link/:token',
      operationId: 'consoleSignInLinkPage',
      tag,
      summary: 'An emailed sign-in link: names the workspace, with a button that signs in (uses nothing)',
      access: { principal: 'link' },
      responses: {
        200: page('The page with the sign-in button'),
        403: page('The workspace requires single sign-on'),
        404: page('No such link'),
        410: page('Used or expired'),
        400: UNSTORABLE,
        500: page('Something went wrong'),
      },
    },
    async (c) => {
      const token = pathParam(c, 'token');
      const found = await peekSignInLink({ deps, token });
      if (found.state !== 'active') {
        const [status, title, text] = DEAD[found.state];
        return message(c, status, title, text);
      }
      return c.html(
        <PublicLayout title={`Sign in to ${found.workspaceName}`}>
          <section class="card">
            <h1>Sign in to {found.workspaceName}</h1>
            <p>
              As <strong>{found.email}</strong>. This link works once.
            </p>
            <form method="post" action={`/console/sign-in/link/${token}`}>
              <CsrfField value={preCsrf(c)} />
              <button type="submit" id="continue">
                Sign in to {found.workspaceName}
              </button>
            </form>
          </section>
        </PublicLayout>,
      );
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/console/sign-in/link/:token',
      operationId: 'consoleSignInWithLink',
      tag,
      summary: 'Use an emailed sign-in link (once): sets the session cookie',
      access: { principal: 'link' },
      responses: {
        303: { description: 'Signed in: the session cookie is set; on to the console' },
        403: page(
          'Not sent from the console’s sign-in page (origin or CSRF field), or the workspace requires single sign-on',
        ),
        404: page('No such link'),
        410: page('Used or expired'),
        400: UNSTORABLE,
        500: page('Something went wrong'),
      },
    },
    async (c) => {
      const form = await guard(c);
      if (form instanceof Response) return form;
      const token = pathParam(c, 'token');
      let signed: { token: string } | undefined;
      try {
        signed = await signInWithLink({ deps, token });
      } catch (error) {
        if (!(error instanceof SsoRequiredError)) throw error;
        const [status, title, text] = DEAD[SSO_REQUIRED];
        return message(c, status, title, text);
      }
      if (!signed) {
        const found = await peekSignInLink({ deps, token });
        const [status, title, text] = DEAD[found.state === 'active' ? 'unknown' : found.state];
        return message(c, status, title, text);
      }
      clearPreSession(deps, c);
      setSessionCookie(deps, c, signed.token);
      return c.redirect('/console', 303);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/console/sign-in/sso',
      operationId: 'consoleSignInWithSso',
      tag,
      summary:
        "Single sign-on: routes a work email by its domain to its workspace's OpenID provider (form post: email, next)",
      access: { principal: 'public' },
      responses: {
        200: page(
          "A page that moves on to the identity provider's sign-in at once (authorization code with PKCE); its link does too",
        ),
        403: page('Not sent from the console’s sign-in page (origin or CSRF field)'),
        404: page('The page again: no workspace signs in with single sign-on for this domain'),
        502: page('The page again: the identity provider could not be reached'),
        400: UNSTORABLE,
        500: page('Something went wrong'),
      },
    },
    async (c) => {
      const form = await guard(c);
      if (form instanceof Response) return form;
      const next = safeNext(form.next);
      const email = (form.email ?? '').trim().slice(0, 320);
      try {
        const { url } = await startSsoSignIn({
          deps,
          input: { email, browser: presentedPreSession(c) ?? '', next },
        });
        // Not a redirect: the sign-in page's CSP (form-action 'self') stops a form's redirect to
        // another site, so this page moves on to the IdP by itself (a meta refresh), or by its link.
        return c.html(
          <PublicLayout title="Single sign-on" refresh={url}>
            <h1>Single sign-on</h1>
            <p>
              <a id="sso-continue" href={url}>
                Continue to your identity provider
              </a>
            </p>
          </PublicLayout>,
        );
      } catch (error) {
        if (!(error instanceof SsoSignInError)) throw error;
        return c.html(
          <SignInPage next={next} csrf={preCsrf(c)} error={error.message} email={email} />,
          SSO_STATUS[error.reason],
        );
      }
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/console/sso/callback',
      operationId: 'consoleSsoCallback',
      tag,
      summary:
        'Single sign-on: where the identity provider sends the browser back (code, state, iss); the redirect URI to register',
      access: { principal: 'public' },
      responses: {
        303: { description: 'Signed in: the session cookie is set; on to the console' },
        400: page('Unknown, used, expired or another browser’s sign-in (or text that cannot be stored)'),
        401: page(
          'The identity provider refused, or its answer failed a check (issuer, audience, signature, expiry, nonce)',
        ),
        403: page('Not allowed in: email domain, membership (just-in-time off), or no role'),
        404: page('Single sign-on is no longer set up for the workspace'),
        502: page('The identity provider could not be reached'),
        500: page('Something went wrong'),
      },
    },
    async (c) => {
      try {
        const signed = await finishSsoSignIn({
          deps,
          input: { query: new URL(c.req.url).search, browser: presentedPreSession(c) },
        });
        clearPreSession(deps, c);
        setSessionCookie(deps, c, signed.token);
        return c.redirect(safeNext(signed.next), 303);
      } catch (error) {
        if (!(error instanceof SsoSignInError)) throw error;
        return message(c, SSO_STATUS[error.reason], 'Single sign-on did not sign you in', error.message);
      }
    },
  );
}
