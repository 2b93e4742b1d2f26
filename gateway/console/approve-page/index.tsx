import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GatewayError } from '../../domain/errors.ts';
import type { GatewayEnv } from '../../env.ts';
import { formatTime } from '../../notify/format.ts';
import { type Answer, route } from '../../routes/openapi/route.ts';
import { pathParam, withFields } from '../../routes/validate.ts';
import {
  type ActiveLink,
  checkCsrf,
  csrfToken,
  type DeadLink,
  decideByLink,
  resolveLink,
} from '../../services/approvals/index.ts';
import type { Deps } from '../../services/context.ts';
import { sameOrigin } from '../security.ts';
import { ApprovalPage, MessagePage, OutcomePage } from './views.tsx';

const page = (description: string): Answer => ({ description, html: true });
/** Every answer of a link is a readable page, refusals included (nothing here is JSON). */
const PAGES: Record<number, Answer> = {
  400: page('Text that cannot be stored (a NUL character) in the link, the query or the form'),
  403: page('Not allowed: another origin, an expired form, a wrong code, a changed role'),
  404: page('No approval belongs to this link'),
  410: page('Used, decided, moved on or expired'),
  500: page('Something went wrong'),
  503: page('The database could not be reached: try again shortly (Retry-After)'),
};
const tag = 'Approval links';

/** The token is in the URL: never cached, never sent to another site, never framed. */
const LINK_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/**
 * A request refused before any link route ran (middleware/storable-text): a readable page, as every
 * refusal of a link is, with the link's headers (its middleware did not run).
 */
export function approvalRefusalPage(
  c: Context<GatewayEnv>,
  refusal: GatewayError,
): Response | Promise<Response> {
  return c.html(
    <MessagePage title="This request cannot be read" message={withFields(refusal)} />,
    refusal.status as ContentfulStatusCode,
    LINK_HEADERS,
  );
}

/** The page for a link that cannot be used, with its status: 404 unknown, 410 gone, 403 not allowed. */
function deadPage(dead: DeadLink): { status: ContentfulStatusCode; title: string; message: string } {
  switch (dead.state) {
    case 'unknown':
      return {
        status: 404,
        title: 'This link is not valid',
        message:
          'No approval request belongs to this link. Check that you copied the whole link from the email.',
      };
    case 'used':
      return {
        status: 410,
        title: 'This link has already been used',
        message: `You ${dead.decision === 'approve' ? 'approved' : 'rejected'} this request on ${formatTime(dead.at)}. The request is now ${dead.approval.status}.`,
      };
    case 'decided':
      return {
        status: 410,
        title: 'This request has already been decided',
        message: `The request is ${dead.approval.status}; nothing is waiting for you here any more.`,
      };
    case 'moved_on':
      return {
        status: 410,
        title: 'This stage is no longer waiting',
        message: `The stage this link was for has ended (the request is ${dead.approval.status}). If another stage needs you, you will get a new email.`,
      };
    case 'expired':
      return {
        status: 410,
        title: 'This link has expired',
        message: 'The deadline for this decision has passed. The request follows its policy on timeout.',
      };
    case 'not_allowed':
      return {
        status: 403,
        title: 'You can no longer decide this request',
        message: 'Your role in the workspace has changed since this link was sent.',
      };
  }
}

const field = (form: Record<string, unknown>, name: string): string | undefined => {
  const value = form[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * The magic-link approval page (DESIGN §5): server-rendered HTML that works without JavaScript.
 * `GET /approve/:token` shows what is being authorised; `POST …/decision` approves or rejects;
 * `POST …/otp` emails a one-time code for critical stages. Every refusal is a readable page.
 */
export function registerApprovePage(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const { otp } = deps;
  const csrfKey = deps.keyring.csrf;

  const secure = async (c: Context<GatewayEnv>, next: () => Promise<void>) => {
    await next();
    for (const [name, value] of Object.entries(LINK_HEADERS)) c.header(name, value);
  };
  app.use('/approve/*', secure);

  const message = (c: Context<GatewayEnv>, status: ContentfulStatusCode, title: string, text: string) =>
    c.html(<MessagePage title={title} message={text} />, status);

  const render = (
    c: Context<GatewayEnv>,
    active: ActiveLink,
    token: string,
    extra: { error?: string; info?: string; status?: ContentfulStatusCode } = {},
  ) =>
    c.html(
      <ApprovalPage
        active={active}
        token={token}
        csrf={csrfToken(csrfKey, active.link)}
        error={extra.error}
        info={extra.info}
      />,
      extra.status ?? 200,
    );

  /** Resolves the link for a POST and checks origin and CSRF; a Response when it must stop. */
  const guard = async (c: Context<GatewayEnv>, token: string) => {
    if (!sameOrigin(c, deps.config.publicBaseUrl)) {
      return message(c, 403, 'Request refused', 'This form was not sent from the approval page.');
    }
    const found = await resolveLink({ deps, token });
    if (found.state !== 'active') {
      const dead = deadPage(found);
      return message(c, dead.status, dead.title, dead.message);
    }
    const form = await c.req.parseBody();
    if (!checkCsrf(csrfKey, found.link, field(form, 'csrf') ?? '')) {
      return message(
        c,
        403,
        'This form has expired',
        'The page was open too long or did not come from this link. Open the link from your email again.',
      );
    }
    return { active: found, form };
  };

  const failed = (c: Context<GatewayEnv>, error: unknown) => {
    if (error instanceof GatewayError) {
      for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
      return message(c, error.status, 'Not done', error.message);
    }
    deps.logger.error({ err: error, requestId: c.get('requestId') }, 'approval page failed');
    return message(c, 500, 'Something went wrong', 'Something went wrong on our side. Please try again.');
  };

  route(
    app,
    {
      method: 'get',
      path: '/approve/:token',
      operationId: 'approvalLinkPage',
      tag,
      summary: 'The approval page: what is being authorised, with approve and reject',
      access: { principal: 'link' },
      responses: { 200: page('The page'), ...PAGES },
    },
    async (c) => {
      const token = pathParam(c, 'token');
      try {
        const found = await resolveLink({ deps, token });
        if (found.state !== 'active') {
          const dead = deadPage(found);
          return message(c, dead.status, dead.title, dead.message);
        }
        const info =
          c.req.query('otp') === 'sent'
            ? `A one-time code was sent to ${found.member.email}. It is valid for 10 minutes.`
            : undefined;
        return render(c, found, token, { info });
      } catch (error) {
        return failed(c, error);
      }
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/approve/:token/decision',
      operationId: 'approvalLinkDecide',
      tag,
      summary: 'Approve or reject (form post: decision, reason, otp, csrf)',
      access: { principal: 'link' },
      responses: {
        ...PAGES,
        200: page('The outcome'),
        400: page('The page again: no decision chosen (or text that cannot be stored)'),
        409: page('Not done: the request moved on'),
      },
    },
    async (c) => {
      const token = pathParam(c, 'token');
      try {
        const checked = await guard(c, token);
        if (checked instanceof Response) return checked;
        const { active, form } = checked;
        const decision = field(form, 'decision');
        if (decision !== 'approve' && decision !== 'reject') {
          return render(c, active, token, { error: 'Choose Approve or Reject.', status: 400 });
        }
        const reason = field(form, 'reason')?.trim().slice(0, 1000) || undefined;
        const code = field(form, 'otp')?.replace(/\s+/g, '') || undefined;
        try {
          const { approval, transaction } = await decideByLink({ deps, otp, active, decision, reason, code });
          return c.html(<OutcomePage decision={decision} approval={approval} transaction={transaction} />);
        } catch (error) {
          if (error instanceof GatewayError && error.code === 'FORBIDDEN') {
            // A missing, wrong or locked code: the page again, saying why.
            const again = await resolveLink({ deps, token });
            if (again.state === 'active')
              return render(c, again, token, { error: error.message, status: 403 });
          }
          if (error instanceof GatewayError && error.code === 'CONFLICT') {
            const again = await resolveLink({ deps, token });
            if (again.state !== 'active') {
              const dead = deadPage(again);
              return message(c, dead.status, dead.title, dead.message);
            }
          }
          throw error;
        }
      } catch (error) {
        return failed(c, error);
      }
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/approve/:token/otp',
      operationId: 'approvalLinkSendOtp',
      tag,
      summary: 'Email a 6-digit code for a critical stage (form post: csrf)',
      access: { principal: 'link' },
      responses: {
        303: { description: 'Back to the page, which says the code was sent' },
        409: page('Not done: the stage needs no code, or was decided'),
        429: page('The page again: too many codes requested (Retry-After)'),
        503: page('The page again: the code could not be emailed'),
        ...PAGES,
      },
    },
    async (c) => {
      const token = pathParam(c, 'token');
      try {
        const checked = await guard(c, token);
        if (checked instanceof Response) return checked;
        const { active } = checked;
        try {
          await otp.send({
            workspaceId: active.link.workspaceId,
            approvalId: active.link.approvalId,
            member: { memberId: active.member.id, email: active.member.email, role: active.member.role },
            position: active.link.position,
          });
        } catch (error) {
          if (error instanceof GatewayError) {
            // Retry-After with a 429 (too many codes requested), as on the API.
            for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
            return render(c, active, token, { error: error.message, status: error.status });
          }
          throw error;
        }
        // Post/redirect/get: reloading the page does not send another code.
        return c.redirect(`/approve/${token}?otp=sent`, 303);
      } catch (error) {
        return failed(c, error);
      }
    },
  );

  app.all('/approve/*', (c) =>
    message(c, 404, 'This link is not valid', 'No approval request belongs to this address.'),
  );
}
